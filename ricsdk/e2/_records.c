/* ricsdk.e2._records: the fast path of the E2SM-KPM MeasurementRecord decoder (kpm.py, _dec_records) in C.
 *
 * A MeasurementRecord is a SEQUENCE OF MeasurementRecordItem, a CHOICE whose first alternative is an INTEGER
 * (0..4294967295). In aligned PER an integer record that starts on an octet boundary is one octet (extension
 * bit 0, alternative 00, length - 1 in two bits, three bits of padding) followed by its 1 to 4 value octets,
 * and it ends on an octet boundary, so a run of them needs no bit arithmetic. int_records() decodes the longest
 * such run from the start: it stops at the first record that is not one (another alternative, an extension,
 * an unaligned position, or a record whose octets run past the end), and the Python decoder goes on from there
 * with its general path, which also raises the errors. So the result is always the one the Python loop gives.
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

static PyMethodDef methods[] = {
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
