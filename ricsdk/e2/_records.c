/* ricsdk.e2._records: the fast path of the E2SM-KPM MeasurementRecord decoder (kpm.py, _dec_records) in C.
 *
 * A MeasurementRecord is a SEQUENCE OF MeasurementRecordItem, a CHOICE whose first alternative is an INTEGER
 * (0..4294967295). In aligned PER an integer record that starts on an octet boundary is one octet (extension
 * bit 0, alternative 00, length - 1 in two bits, three bits of padding) followed by its 1 to 4 value octets,
 * and it ends on an octet boundary, so a run of them needs no bit arithmetic. int_records() decodes the longest
 * such run from the start: it stops at the first record that is not one (another alternative, an extension,
 * an unaligned position, or a record whose octets run past the end), and the Python decoder goes on from there
 * with its general path, which also raises the errors. So the result is always the one the Python loop gives.
 *
 * f1_records() goes one level up, for the usual format-1 indication message (see kpm.py, the fast path of
 * KpmCodec.decode_indication_message): every measurement data item without extensions or incompleteFlag and
 * made of integer and noValue records (aligned or not). It returns the records and where the part after them
 * (measInfoList, granulPeriod) starts, or None for anything else, which the Python decoder then reads, errors
 * included.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* int_records(data, pos, end, m, out) -> pos: append up to m integer records read from bit position pos
 * (octet-aligned runs only) to the list out; return the bit position after the last one appended. */
static PyObject *int_records(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "int_records(data, pos, end, m, out)");
        return NULL;
    }
    if (!PyBytes_Check(args[0]) || !PyList_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "int_records: data must be bytes and out a list");
        return NULL;
    }
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    Py_ssize_t end = PyLong_AsSsize_t(args[2]);
    Py_ssize_t m = PyLong_AsSsize_t(args[3]);
    if ((pos == -1 || end == -1 || m == -1) && PyErr_Occurred()) {
        return NULL;
    }
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    Py_ssize_t size_bits = PyBytes_GET_SIZE(args[0]) * 8;
    if (pos < 0 || end < 0 || end > size_bits || m < 0) {
        PyErr_SetString(PyExc_ValueError, "int_records: position out of the data");
        return NULL;
    }
    PyObject *out = args[4];
    for (Py_ssize_t k = 0; k < m; k++) {
        if ((pos & 7) || pos >= end) {
            break;
        }
        Py_ssize_t i = pos >> 3;
        unsigned char b = data[i];
        if (b >= 0x20) { /* an extension or another alternative */
            break;
        }
        Py_ssize_t j = i + 2 + (b >> 3); /* one header octet and 1..4 value octets */
        if ((j << 3) > end) {            /* truncated: the Python path reports it */
            break;
        }
        unsigned long long v = 0;
        for (Py_ssize_t q = i + 1; q < j; q++) {
            v = (v << 8) | data[q];
        }
        PyObject *item = PyLong_FromUnsignedLongLong(v);
        if (item == NULL) {
            return NULL;
        }
        int rc = PyList_Append(out, item);
        Py_DECREF(item);
        if (rc < 0) {
            return NULL;
        }
        pos = j << 3;
    }
    return PyLong_FromSsize_t(pos);
}

/* A length determinant at octet i, short or two-octet form (a fragmented one is left to Python): the length,
 * with *next set to the octet after it; -1 when it is not there. */
static Py_ssize_t length_at(const unsigned char *data, Py_ssize_t i, Py_ssize_t size, Py_ssize_t *next) {
    if (i >= size) {
        return -1;
    }
    unsigned char b = data[i];
    if (b < 0x80) {
        *next = i + 1;
        return b;
    }
    if (b < 0xC0 && i + 2 <= size) {
        *next = i + 2;
        return ((Py_ssize_t)(b & 0x3F) << 8) | data[i + 1];
    }
    return -1;
}

/* k (<= 8) bits from bit position p, or -1 when they run past total bits. */
static int bits_at(const unsigned char *data, Py_ssize_t total, Py_ssize_t p, int k) {
    if (p + k > total) {
        return -1;
    }
    int v = 0;
    for (int i = 0; i < k; i++) {
        Py_ssize_t q = p + i;
        v = (v << 1) | ((data[q >> 3] >> (7 - (q & 7))) & 1);
    }
    return v;
}

/* f1_records(data, no_value) -> (presence bits, (records of item 1, ...), bit position after them) or None.
 *
 * The layout read (aligned PER of E2SM-KPM-IndicationMessage): octet 0 holds the message's extension bit, the
 * format CHOICE's extension bit and index (format 1 = 0), format 1's extension bit, its two presence bits
 * (measInfoList, granulPeriod) and padding; octets 1-2 the item count - 1 (SIZE(1..65535)); then per item its
 * extension bit and incompleteFlag presence bit, the record count's length determinant (aligned) and the
 * records. A record is its extension bit and a 2-bit alternative: 00 an INTEGER (0..4294967295: two bits of
 * octet count - 1, padding to the octet, the octets), 10 noValue (nothing more; ``no_value`` is appended).
 * Anything else (an extension bit set, an incompleteFlag, a REAL, a fragmented length, a value running past
 * the data) gives None. */
static PyObject *f1_records(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "f1_records(data: bytes, no_value)");
        return NULL;
    }
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    PyObject *no_value = args[1];
    Py_ssize_t size = PyBytes_GET_SIZE(args[0]);
    Py_ssize_t total = size * 8;
    if (size < 3 || (data[0] & 0xF0)) {
        Py_RETURN_NONE;
    }
    long flags = (data[0] >> 2) & 3;
    Py_ssize_t v = ((Py_ssize_t)data[1] << 8) | data[2];
    if (v >= 65535) {
        Py_RETURN_NONE;
    }
    Py_ssize_t n = v + 1;
    if (n * 12 > total - 24) {
        Py_RETURN_NONE;
    }
    PyObject *items = PyTuple_New(n);
    if (items == NULL) {
        return NULL;
    }
    Py_ssize_t p = 24;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (bits_at(data, total, p, 2) != 0) { /* item extension or incompleteFlag (or no room): Python */
            goto other;
        }
        p = (p + 2 + 7) & ~(Py_ssize_t)7;
        Py_ssize_t at;
        Py_ssize_t m = length_at(data, p >> 3, size, &at);
        if (m <= 0) {
            goto other;
        }
        p = at << 3;
        if (m * 3 > total - p) {
            goto other;
        }
        PyObject *recs = PyTuple_New(m);
        if (recs == NULL) {
            Py_DECREF(items);
            return NULL;
        }
        PyTuple_SET_ITEM(items, k, recs);
        for (Py_ssize_t r = 0; r < m; r++) {
            int head = bits_at(data, total, p, 3);
            PyObject *item;
            if (head == 0) {
                int len = bits_at(data, total, p + 3, 2);
                if (len < 0) {
                    goto other;
                }
                p = (p + 5 + 7) & ~(Py_ssize_t)7;
                Py_ssize_t i = p >> 3, j = i + len + 1;
                if (j > size) {
                    goto other;
                }
                unsigned long long x = 0;
                for (Py_ssize_t q = i; q < j; q++) {
                    x = (x << 8) | data[q];
                }
                item = PyLong_FromUnsignedLongLong(x);
                if (item == NULL) {
                    Py_DECREF(items);
                    return NULL;
                }
                p = j << 3;
            } else if (head == 2) {
                Py_INCREF(no_value);
                item = no_value;
                p += 3;
            } else {
                goto other;
            }
            PyTuple_SET_ITEM(recs, r, item);
        }
    }
    return Py_BuildValue("(lNn)", flags, items, p);
other:
    Py_DECREF(items);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"f1_records", (PyCFunction)(void (*)(void))f1_records, METH_FASTCALL,
     "f1_records(data, no_value) -> (presence bits, records per item, bit position after them) | None: the "
     "measurement data of a usual format-1 indication message (see the comment above it), None otherwise."},
    {"int_records", (PyCFunction)(void (*)(void))int_records, METH_FASTCALL,
     "int_records(data, pos, end, m, out) -> int: append up to m octet-aligned INTEGER measurement records read "
     "from bit position pos (below end) to out; the bit position after the last one."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "ricsdk.e2._records",
    "The octet-aligned INTEGER run of E2SM-KPM measurement records in C (optional; kpm.py is the fallback).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__records(void) { return PyModule_Create(&module); }
