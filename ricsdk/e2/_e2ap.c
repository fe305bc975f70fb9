/* ricsdk.e2._e2ap: the two E2AP PDUs of the near-RT hot path read in C (e2ap.py, decode_e2ap's fast path).
 *
 * A RICindication arrives for every report and a RICcontrolAcknowledge for every control. Both are an E2AP-PDU
 * (octet 0: extension bit 0 and the alternative in bits 6-5; octet 1: the procedure code; octet 2: the
 * criticality; then the value's length determinant and octets) whose value is a SEQUENCE { protocolIEs } in
 * aligned PER: one octet with the extension bit, the IE count in two octets, then per IE its id (two octets),
 * criticality (top two bits of one octet) and value as an open type (length determinant and octets).
 *
 * indication() and control_ack() read the IEs the Python decoders read, with the same rules (which IEs are
 * mandatory, unknown IEs skipped unless their criticality is reject, trailing octets inside an IE value or
 * after the container ignored, as there), and return their raw values as a tuple. Anything the Python decoder
 * would reject, and anything it reads with its general path (a fragmented length, a RICrequestID with
 * extensions, another PDU), gives None: e2ap.py then decodes the PDU itself, so values and errors are the ones
 * the Python decoder gives.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* A length determinant at octet *off (below end), short or two-octet form; its octets must end by end.
 * On success the value's start and length are stored, *off moves past the value and 0 is returned. */
static int open_value(const unsigned char *d, Py_ssize_t *off, Py_ssize_t end, Py_ssize_t *start, Py_ssize_t *len) {
    Py_ssize_t o = *off;
    if (o >= end) {
        return -1;
    }
    unsigned char b = d[o];
    Py_ssize_t n, s;
    if (b < 0x80) {
        n = b;
        s = o + 1;
    } else if (b < 0xC0) {
        if (o + 2 > end) {
            return -1;
        }
        n = ((Py_ssize_t)(b & 0x3F) << 8) | d[o + 1];
        s = o + 2;
    } else {
        return -1; /* fragmented: Python */
    }
    if (s + n > end) {
        return -1;
    }
    *start = s;
    *len = n;
    *off = s + n;
    return 0;
}

/* The IE container of a PDU of the given alternative and procedure: on success *pos is the first IE, *end the
 * end of the PDU's value, *count the IE count, and 0 is returned. */
static int container(const unsigned char *d, Py_ssize_t size, int kind, int proc, Py_ssize_t *pos, Py_ssize_t *end,
                     Py_ssize_t *count) {
    if (size < 3 || (d[0] & 0x80) || ((d[0] >> 5) & 3) != kind || d[1] != proc) {
        return -1;
    }
    Py_ssize_t off = 3, start, len;
    if (open_value(d, &off, size, &start, &len) < 0 || off != size) {
        return -1; /* octets after the PDU are an error: Python reports it */
    }
    Py_ssize_t e = start + len;
    if (start + 3 > e || (d[start] & 0x80)) {
        return -1;
    }
    Py_ssize_t n = ((Py_ssize_t)d[start + 1] << 8) | d[start + 2];
    if (n * 4 > e - (start + 3)) {
        return -1;
    }
    *pos = start + 3;
    *end = e;
    *count = n;
    return 0;
}

/* The next IE at *pos: its id, criticality and value; 0 on success. */
static int next_ie(const unsigned char *d, Py_ssize_t *pos, Py_ssize_t end, int *id, int *crit, Py_ssize_t *start,
                   Py_ssize_t *len) {
    Py_ssize_t o = *pos;
    if (o + 4 > end) {
        return -1;
    }
    *id = (d[o] << 8) | d[o + 1];
    *crit = d[o + 2] >> 6;
    if (*crit > 2) {
        return -1;
    }
    *pos = o + 3;
    return open_value(d, pos, end, start, len);
}

/* An OCTET STRING inside an IE value (its own length determinant; octets after it ignored, as in Python). */
static PyObject *inner_octets(const unsigned char *d, Py_ssize_t start, Py_ssize_t len) {
    Py_ssize_t off = start, s, n;
    if (open_value(d, &off, start + len, &s, &n) < 0) {
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)d + s, n);
}

#define IND_SLOTS 8
/* IE id -> slot of the RICindication tuple: RICrequestID, RANfunctionID, RICactionID, RICindicationSN,
 * RICindicationType, RICindicationHeader, RICindicationMessage, RICcallProcessID. */
static int indication_slot(int id) {
    switch (id) {
    case 29: return 0;
    case 5: return 1;
    case 15: return 2;
    case 27: return 3;
    case 28: return 4;
    case 25: return 5;
    case 26: return 6;
    case 20: return 7;
    default: return -1;
    }
}

static void clear(PyObject **slots, int n) {
    for (int k = 0; k < n; k++) {
        Py_CLEAR(slots[k]);
    }
}

/* The value of one IE of a known slot, or NULL (no error set) when Python must decode it. kinds: 'r' request
 * id (5 octets, no extension: returned raw for e2ap's cache of RicRequestId), 'f' RANfunctionID, 'b' one
 * octet, 'h' two octets, 't' RICindicationType, 'o' OCTET STRING. */
static PyObject *ie_value(char kind, const unsigned char *d, Py_ssize_t s, Py_ssize_t n) {
    switch (kind) {
    case 'r':
        if (n != 5 || (d[s] & 0x80)) {
            return NULL;
        }
        return PyBytes_FromStringAndSize((const char *)d + s, 5);
    case 'f': {
        if (n < 2) {
            return NULL;
        }
        long v = ((long)d[s] << 8) | d[s + 1];
        return v > 4095 ? NULL : PyLong_FromLong(v);
    }
    case 'b':
        return n < 1 ? NULL : PyLong_FromLong(d[s]);
    case 'h':
        return n < 2 ? NULL : PyLong_FromLong(((long)d[s] << 8) | d[s + 1]);
    case 't':
        if (n < 1 || (d[s] & 0x80)) {
            return NULL;
        }
        return PyLong_FromLong((d[s] & 0x40) ? 1 : 0);
    default:
        return inner_octets(d, s, n);
    }
}

/* Read the IEs of a container into slots by slot_of / kinds; mandatory is a bit mask of slots. 0 on success,
 * -1 when Python must decode (slots cleared), -2 on a Python error (slots cleared). */
static int read_ies(const unsigned char *d, Py_ssize_t pos, Py_ssize_t end, Py_ssize_t count, int (*slot_of)(int),
                    const char *kinds, PyObject **slots, int nslots, unsigned mandatory) {
    for (Py_ssize_t k = 0; k < count; k++) {
        int id, crit;
        Py_ssize_t s, n;
        if (next_ie(d, &pos, end, &id, &crit, &s, &n) < 0) {
            clear(slots, nslots);
            return -1;
        }
        int slot = slot_of(id);
        if (slot < 0) {
            if (crit == 0) { /* unknown IE with criticality reject */
                clear(slots, nslots);
                return -1;
            }
            continue;
        }
        if (slots[slot] != NULL) { /* repeated */
            clear(slots, nslots);
            return -1;
        }
        slots[slot] = ie_value(kinds[slot], d, s, n);
        if (slots[slot] == NULL) {
            clear(slots, nslots);
            return PyErr_Occurred() ? -2 : -1;
        }
    }
    for (int k = 0; k < nslots; k++) {
        if ((mandatory >> k) & 1 && slots[k] == NULL) {
            clear(slots, nslots);
            return -1;
        }
    }
    return 0;
}

static PyObject *as_tuple(PyObject **slots, int n) {
    PyObject *t = PyTuple_New(n);
    if (t == NULL) {
        clear(slots, n);
        return NULL;
    }
    for (int k = 0; k < n; k++) {
        if (slots[k] == NULL) {
            Py_INCREF(Py_None);
            slots[k] = Py_None;
        }
        PyTuple_SET_ITEM(t, k, slots[k]); /* steals the reference */
    }
    return t;
}

/* The IEs of a PDU of one alternative and procedure, read into a tuple of nslots (see read_ies); None when
 * Python must decode it. */
static PyObject *read_pdu(PyObject *arg, int kind, int proc, int (*slot_of)(int), const char *kinds, PyObject **slots,
                          int nslots, unsigned mandatory) {
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "pdu must be bytes");
        return NULL;
    }
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(arg);
    Py_ssize_t pos, end, count;
    if (container(d, PyBytes_GET_SIZE(arg), kind, proc, &pos, &end, &count) < 0) {
        Py_RETURN_NONE;
    }
    int rc = read_ies(d, pos, end, count, slot_of, kinds, slots, nslots, mandatory);
    if (rc == -2) {
        return NULL;
    }
    if (rc < 0) {
        Py_RETURN_NONE;
    }
    return as_tuple(slots, nslots);
}

/* indication(pdu) -> (request id octets, RAN function, action, sn | None, type (0 report, 1 insert), header,
 * message, call process id | None) | None; mandatory: request id, function, action, type, header, message. */
static PyObject *indication(PyObject *self, PyObject *arg) {
    PyObject *slots[IND_SLOTS] = {NULL};
    return read_pdu(arg, 0, 5, indication_slot, "rfbhtooo", slots, IND_SLOTS, 0x77);
}

#define ACK_SLOTS 4
/* RICrequestID, RANfunctionID, RICcallProcessID, RICcontrolOutcome */
static int ack_slot(int id) {
    switch (id) {
    case 29: return 0;
    case 5: return 1;
    case 20: return 2;
    case 32: return 3;
    default: return -1;
    }
}

/* control_ack(pdu) -> (request id octets, RAN function, call process id | None, outcome | None) | None */
static PyObject *control_ack(PyObject *self, PyObject *arg) {
    PyObject *slots[ACK_SLOTS] = {NULL};
    return read_pdu(arg, 1, 4, ack_slot, "rfoo", slots, ACK_SLOTS, 0x3);
}

/* find_ies(pdu, wanted) -> [(value offset, value length) | None per wanted id] | None: the walk of
 * ricsdk.trace.records._find_ies (the first IE of each wanted id, the walk ending once all are found; any
 * alternative and procedure; the outer value cut at the end of the data), None wherever that walk raises or
 * reads a fragmented length, which it then does itself. */
static PyObject *find_ies(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyBytes_Check(args[0]) || !PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "find_ies(pdu: bytes, wanted: tuple[int, ...])");
        return NULL;
    }
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    Py_ssize_t size = PyBytes_GET_SIZE(args[0]);
    PyObject *wanted = args[1];
    Py_ssize_t nw = PyTuple_GET_SIZE(wanted);
    if (nw > 16) {
        Py_RETURN_NONE;
    }
    long ids[16];
    for (Py_ssize_t k = 0; k < nw; k++) {
        PyObject *id = PyTuple_GET_ITEM(wanted, k);
        int overflow = 0;
        ids[k] = PyLong_CheckExact(id) ? PyLong_AsLongAndOverflow(id, &overflow) : -1;
        if (!PyLong_CheckExact(id) || overflow || ids[k] < 0 || ids[k] > 65535) {
            PyErr_Clear();
            Py_RETURN_NONE; /* not an IE id: the Python walk compares it as it is */
        }
    }
    if (size < 3 || (d[0] & 0x80) || ((d[0] >> 5) & 3) > 2) {
        Py_RETURN_NONE;
    }
    if (size <= 3) {
        Py_RETURN_NONE;
    }
    Py_ssize_t body, n;
    unsigned char b = d[3];
    if (b < 0x80) {
        n = b;
        body = 4;
    } else if (b < 0xC0 && size >= 5) {
        n = ((Py_ssize_t)(b & 0x3F) << 8) | d[4];
        body = 5;
    } else {
        Py_RETURN_NONE;
    }
    Py_ssize_t end = body + n < size ? body + n : size;
    if (body + 3 > end) {
        Py_RETURN_NONE;
    }
    Py_ssize_t count = ((Py_ssize_t)d[body + 1] << 8) | d[body + 2];
    Py_ssize_t off = body + 3;
    Py_ssize_t at[16], len[16];
    int found[16] = {0};
    Py_ssize_t missing = nw;
    for (Py_ssize_t c = 0; c < count; c++) {
        if (off + 4 > end) {
            Py_RETURN_NONE;
        }
        long id = ((long)d[off] << 8) | d[off + 1];
        Py_ssize_t o = off + 3, s, l;
        if (open_value(d, &o, end, &s, &l) < 0) {
            Py_RETURN_NONE;
        }
        for (Py_ssize_t k = 0; k < nw; k++) {
            if (ids[k] == id) {
                if (!found[k]) {
                    found[k] = 1;
                    at[k] = s;
                    len[k] = l;
                    missing--;
                }
                break;
            }
        }
        off = o;
        if (nw && !missing) {
            break;
        }
    }
    PyObject *out = PyList_New(nw);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t k = 0; k < nw; k++) {
        PyObject *item;
        if (found[k]) {
            item = Py_BuildValue("(nn)", at[k], len[k]);
            if (item == NULL) {
                Py_DECREF(out);
                return NULL;
            }
        } else {
            Py_INCREF(Py_None);
            item = Py_None;
        }
        PyList_SET_ITEM(out, k, item);
    }
    return out;
}

/* -- encoders ---------------------------------------------------------------------------------------- */

/* Append a length determinant (n < 16384) for n octets; returns the new write position. */
static unsigned char *put_len(unsigned char *w, Py_ssize_t n) {
    if (n < 128) {
        *w++ = (unsigned char)n;
    } else {
        *w++ = (unsigned char)(0x80 | (n >> 8));
        *w++ = (unsigned char)(n & 0xFF);
    }
    return w;
}

static Py_ssize_t len_size(Py_ssize_t n) { return n < 128 ? 1 : 2; }

/* An IE whose value is an OCTET STRING (open type around it): id, criticality reject, lengths, octets. */
static unsigned char *put_octets_ie(unsigned char *w, int id, const char *v, Py_ssize_t n) {
    *w++ = (unsigned char)(id >> 8);
    *w++ = (unsigned char)(id & 0xFF);
    *w++ = 0;
    w = put_len(w, len_size(n) + n);
    w = put_len(w, n);
    memcpy(w, v, (size_t)n);
    return w + n;
}

/* The octets an OCTET STRING IE of n octets takes (see put_octets_ie). */
static Py_ssize_t octets_ie_size(Py_ssize_t n) { return 3 + len_size(len_size(n) + n) + len_size(n) + n; }

/* A RICcontrol PDU of alternative `first` (0x00 initiating, 0x20 successful) whose value holds `parts` IEs in
 * `body` octets, the first two RICrequestID and RANfunctionID: the new bytes object and, in *w, where the rest
 * of its IEs go. None when body needs a fragmented length (Python then encodes it), NULL when out of memory. */
static PyObject *control_pdu(unsigned char first, Py_ssize_t body, int parts, long requestor, long instance,
                             long function, unsigned char **w) {
    *w = NULL;
    if (body >= 16384) {
        Py_RETURN_NONE; /* a fragmented length: Python encodes it */
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, 3 + len_size(body) + body);
    if (out == NULL) {
        return NULL;
    }
    unsigned char *p = (unsigned char *)PyBytes_AS_STRING(out);
    *p++ = first;
    *p++ = 4;    /* RICcontrol */
    *p++ = 0x00; /* criticality reject */
    p = put_len(p, body);
    *p++ = 0;
    *p++ = 0;
    *p++ = (unsigned char)parts;
    const unsigned char ids[] = {0x00, 0x1d, 0x00, 0x05, 0x00, (unsigned char)(requestor >> 8),
                                 (unsigned char)(requestor & 0xFF), (unsigned char)(instance >> 8),
                                 (unsigned char)(instance & 0xFF), 0x00, 0x05, 0x00, 0x02,
                                 (unsigned char)(function >> 8), (unsigned char)(function & 0xFF)};
    memcpy(p, ids, sizeof ids);
    *w = p + sizeof ids;
    return out;
}

static int small_uint(PyObject *o, long max, long *out) {
    if (!PyLong_CheckExact(o)) {
        return -1;
    }
    int overflow = 0;
    long v = PyLong_AsLongAndOverflow(o, &overflow);
    if (overflow || v < 0 || v > max) {
        PyErr_Clear();
        return -1;
    }
    *out = v;
    return 0;
}

/* control_request(requestor, instance, function, header, message, call_process_id, ack) -> bytes | None: the
 * RICcontrolRequest PDU e2ap.py's _encode_control_request and _pdu write (IEs in the order RICrequestID,
 * RANfunctionID, RICcallProcessID, RICcontrolHeader, RICcontrolMessage, RICcontrolAckRequest); ack is -1 for
 * none, else the ControlAckRequest value (0 noAck, 1 ack). None for anything e2ap.py should handle: a value
 * out of range or not of the exact type, an octet string of 16K or more (fragmented lengths). */
static PyObject *control_request(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "control_request(requestor, instance, function, header, message, cpid, ack)");
        return NULL;
    }
    long requestor, instance, function, ack;
    if (small_uint(args[0], 65535, &requestor) < 0 || small_uint(args[1], 65535, &instance) < 0 ||
        small_uint(args[2], 4095, &function) < 0) {
        Py_RETURN_NONE;
    }
    if (!PyLong_CheckExact(args[6])) {
        Py_RETURN_NONE;
    }
    ack = PyLong_AsLong(args[6]);
    if (ack < -1 || ack > 1) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    PyObject *header = args[3], *message = args[4], *cpid = args[5];
    if (!PyBytes_CheckExact(header) || !PyBytes_CheckExact(message) || (cpid != Py_None && !PyBytes_CheckExact(cpid))) {
        Py_RETURN_NONE;
    }
    Py_ssize_t nh = PyBytes_GET_SIZE(header), nm = PyBytes_GET_SIZE(message);
    Py_ssize_t nc = cpid == Py_None ? -1 : PyBytes_GET_SIZE(cpid);
    if (nh > 16000 || nm > 16000 || nc > 16000) {
        Py_RETURN_NONE;
    }
    Py_ssize_t body = 3 + 9 + 6 + octets_ie_size(nh) + octets_ie_size(nm);
    int parts = 4;
    if (nc >= 0) {
        body += octets_ie_size(nc);
        parts++;
    }
    if (ack >= 0) {
        body += 5;
        parts++;
    }
    unsigned char *w;
    PyObject *out = control_pdu(0x00, body, parts, requestor, instance, function, &w);
    if (out == NULL || out == Py_None) {
        return out;
    }
    if (nc >= 0) {
        w = put_octets_ie(w, 20, PyBytes_AS_STRING(cpid), nc);
    }
    w = put_octets_ie(w, 22, PyBytes_AS_STRING(header), nh);
    w = put_octets_ie(w, 23, PyBytes_AS_STRING(message), nm);
    if (ack >= 0) {
        const unsigned char a[] = {0x00, 0x15, 0x00, 0x01, (unsigned char)(ack ? 0x40 : 0x00)};
        memcpy(w, a, sizeof a);
        w += sizeof a;
    }
    return out;
}

/* control_ack(requestor, instance, function, call_process_id, outcome) -> bytes | None: the
 * RICcontrolAcknowledge PDU e2ap.py's _encode_control_ack and _pdu write (RICrequestID, RANfunctionID, then
 * RICcallProcessID and RICcontrolOutcome when given); None where e2ap.py must encode it (see control_request). */
static PyObject *control_ack_pdu(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "control_ack_pdu(requestor, instance, function, cpid, outcome)");
        return NULL;
    }
    long requestor, instance, function;
    if (small_uint(args[0], 65535, &requestor) < 0 || small_uint(args[1], 65535, &instance) < 0 ||
        small_uint(args[2], 4095, &function) < 0) {
        Py_RETURN_NONE;
    }
    PyObject *cpid = args[3], *outcome = args[4];
    if ((cpid != Py_None && !PyBytes_CheckExact(cpid)) || (outcome != Py_None && !PyBytes_CheckExact(outcome))) {
        Py_RETURN_NONE;
    }
    Py_ssize_t nc = cpid == Py_None ? -1 : PyBytes_GET_SIZE(cpid);
    Py_ssize_t no = outcome == Py_None ? -1 : PyBytes_GET_SIZE(outcome);
    if (nc > 16000 || no > 16000) {
        Py_RETURN_NONE;
    }
    Py_ssize_t body = 3 + 9 + 6;
    int parts = 2;
    if (nc >= 0) {
        body += octets_ie_size(nc);
        parts++;
    }
    if (no >= 0) {
        body += octets_ie_size(no);
        parts++;
    }
    unsigned char *w;
    PyObject *out = control_pdu(0x20, body, parts, requestor, instance, function, &w);
    if (out == NULL || out == Py_None) {
        return out;
    }
    if (nc >= 0) {
        w = put_octets_ie(w, 20, PyBytes_AS_STRING(cpid), nc);
    }
    if (no >= 0) {
        w = put_octets_ie(w, 32, PyBytes_AS_STRING(outcome), no);
    }
    return out;
}

/* quota_entries(head, plmn, rows, snssai_type, with_sd, without_sd) -> bytes | None: the RC control message
 * SliceQuotaEncoder.encode_rows writes: head, the entry count - 1 (two octets), then per row (Snssai, (min, max,
 * dedicated)) its entry template (with_sd / without_sd: (octets, plmn, sst, sd, min, max, dedicated offsets))
 * with the fields filled in. None whenever encode_rows should decide (and raise): a count outside 1..64, a row
 * that is not (exact Snssai, tuple of three exact ints with 0 <= dedicated <= min <= max <= 100), a slice
 * twice, min ratios adding up past 100. */
static PyObject *s_sst, *s_sd;

static int template_of(PyObject *t, const unsigned char **data, Py_ssize_t *size, Py_ssize_t off[6]) {
    if (!PyTuple_CheckExact(t) || PyTuple_GET_SIZE(t) != 7 || !PyBytes_CheckExact(PyTuple_GET_ITEM(t, 0))) {
        return -1;
    }
    *data = (const unsigned char *)PyBytes_AS_STRING(PyTuple_GET_ITEM(t, 0));
    *size = PyBytes_GET_SIZE(PyTuple_GET_ITEM(t, 0));
    for (int k = 0; k < 6; k++) {
        off[k] = PyLong_AsSsize_t(PyTuple_GET_ITEM(t, k + 1));
        if (off[k] == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            return -1;
        }
        if (off[k] >= *size) {
            return -1;
        }
    }
    return 0;
}

#define MAX_ROWS 64

static PyObject *quota_entries(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 6 || !PyBytes_CheckExact(args[0]) || !PyList_CheckExact(args[2]) || !PyType_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "quota_entries(head, plmn, rows: list, snssai_type, with_sd, without_sd)");
        return NULL;
    }
    if (s_sst == NULL) {
        s_sst = PyUnicode_InternFromString("sst");
        s_sd = PyUnicode_InternFromString("sd");
        if (s_sst == NULL || s_sd == NULL) {
            return NULL;
        }
    }
    PyObject *plmn = args[1], *rows = args[2];
    PyTypeObject *snssai_type = (PyTypeObject *)args[3];
    if (!PyBytes_CheckExact(plmn) || PyBytes_GET_SIZE(plmn) != 3) {
        Py_RETURN_NONE;
    }
    const unsigned char *tw, *tn;
    Py_ssize_t sw, sn, ow[6], on[6];
    if (template_of(args[4], &tw, &sw, ow) < 0 || template_of(args[5], &tn, &sn, on) < 0 || ow[2] < 0 || ow[2] + 3 > sw ||
        ow[0] + 3 > sw || on[0] + 3 > sn) {
        Py_RETURN_NONE;
    }
    Py_ssize_t n = PyList_GET_SIZE(rows);
    if (n < 1 || n > MAX_ROWS) {
        Py_RETURN_NONE;
    }
    unsigned char sst[MAX_ROWS], sd[MAX_ROWS][3], has_sd[MAX_ROWS], q[MAX_ROWS][3];
    Py_ssize_t total = PyBytes_GET_SIZE(args[0]) + 2;
    long total_min = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *row = PyList_GET_ITEM(rows, i);
        if (!PyTuple_CheckExact(row) || PyTuple_GET_SIZE(row) != 2) {
            Py_RETURN_NONE;
        }
        PyObject *s = PyTuple_GET_ITEM(row, 0), *r = PyTuple_GET_ITEM(row, 1);
        if (Py_TYPE(s) != snssai_type || !PyTuple_CheckExact(r) || PyTuple_GET_SIZE(r) != 3) {
            Py_RETURN_NONE;
        }
        long v[3];
        for (int k = 0; k < 3; k++) {
            if (small_uint(PyTuple_GET_ITEM(r, k), 100, &v[k]) < 0) {
                Py_RETURN_NONE;
            }
        }
        if (v[2] > v[0] || v[0] > v[1]) {
            Py_RETURN_NONE;
        }
        PyObject *a = PyObject_GetAttr(s, s_sst);
        if (a == NULL) {
            return NULL;
        }
        PyObject *b = PyObject_GetAttr(s, s_sd);
        if (b == NULL) {
            Py_DECREF(a);
            return NULL;
        }
        int ok = PyBytes_CheckExact(a) && PyBytes_GET_SIZE(a) == 1 &&
                 (b == Py_None || (PyBytes_CheckExact(b) && PyBytes_GET_SIZE(b) == 3));
        if (ok) {
            sst[i] = (unsigned char)PyBytes_AS_STRING(a)[0];
            has_sd[i] = b != Py_None;
            if (has_sd[i]) {
                memcpy(sd[i], PyBytes_AS_STRING(b), 3);
            }
        }
        Py_DECREF(a);
        Py_DECREF(b);
        if (!ok) {
            Py_RETURN_NONE;
        }
        for (Py_ssize_t j = 0; j < i; j++) { /* each slice once */
            if (sst[j] == sst[i] && has_sd[j] == has_sd[i] && (!has_sd[i] || memcmp(sd[j], sd[i], 3) == 0)) {
                Py_RETURN_NONE;
            }
        }
        q[i][0] = (unsigned char)v[0];
        q[i][1] = (unsigned char)v[1];
        q[i][2] = (unsigned char)v[2];
        total_min += v[0];
        total += has_sd[i] ? sw : sn;
    }
    if (total_min > 100) {
        Py_RETURN_NONE;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL) {
        return NULL;
    }
    unsigned char *w = (unsigned char *)PyBytes_AS_STRING(out);
    memcpy(w, PyBytes_AS_STRING(args[0]), (size_t)PyBytes_GET_SIZE(args[0]));
    w += PyBytes_GET_SIZE(args[0]);
    *w++ = (unsigned char)((n - 1) >> 8);
    *w++ = (unsigned char)((n - 1) & 0xFF);
    const unsigned char *p3 = (const unsigned char *)PyBytes_AS_STRING(plmn);
    for (Py_ssize_t i = 0; i < n; i++) {
        const unsigned char *t = has_sd[i] ? tw : tn;
        const Py_ssize_t *o = has_sd[i] ? ow : on;
        Py_ssize_t size = has_sd[i] ? sw : sn;
        memcpy(w, t, (size_t)size);
        memcpy(w + o[0], p3, 3);
        w[o[1]] = sst[i];
        if (has_sd[i]) {
            memcpy(w + o[2], sd[i], 3);
        }
        w[o[3]] = q[i][0];
        w[o[4]] = q[i][1];
        w[o[5]] = q[i][2];
        w += size;
    }
    return out;
}

static PyMethodDef methods[] = {
    {"control_request", (PyCFunction)(void (*)(void))control_request, METH_FASTCALL,
     "control_request(requestor, instance, function, header, message, cpid, ack) -> bytes | None: a "
     "RICcontrolRequest PDU, None where e2ap.py must encode it."},
    {"control_ack_pdu", (PyCFunction)(void (*)(void))control_ack_pdu, METH_FASTCALL,
     "control_ack_pdu(requestor, instance, function, cpid, outcome) -> bytes | None: a RICcontrolAcknowledge "
     "PDU, None where e2ap.py must encode it."},
    {"quota_entries", (PyCFunction)(void (*)(void))quota_entries, METH_FASTCALL,
     "quota_entries(head, plmn, rows, snssai_type, with_sd, without_sd) -> bytes | None: the RC slice quota "
     "control message of SliceQuotaEncoder.encode_rows, None where it must decide."},
    {"find_ies", (PyCFunction)(void (*)(void))find_ies, METH_FASTCALL,
     "find_ies(pdu, wanted) -> list | None: the IE walk of ricsdk.trace.records._find_ies, None where it raises."},
    {"indication", (PyCFunction)indication, METH_O,
     "indication(pdu) -> (request id octets, RAN function, action, sn, type, header, message, call process id) "
     "| None: the IEs of a RICindication PDU, None when e2ap.py must decode it."},
    {"control_ack", (PyCFunction)control_ack, METH_O,
     "control_ack(pdu) -> (request id octets, RAN function, call process id, outcome) | None: the IEs of a "
     "RICcontrolAcknowledge PDU, None when e2ap.py must decode it."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "ricsdk.e2._e2ap",
    "RICindication and RICcontrolAcknowledge read in C (optional; e2ap.py is the fallback and the reference).",
    -1, methods,
};

PyMODINIT_FUNC PyInit__e2ap(void) { return PyModule_Create(&module); }
