/* ricsdk.features._kernel: the small-batch path of FeatureStore (see store.py, class _Batch) in one C call.
 *
 * The numpy small-batch path makes about twenty array calls per update + matrix; each has a fixed cost of
 * about a microsecond, and several times that when the decision loop has emptied the caches. This kernel does
 * the same float64 operations, in the same order, on the same arrays, in one call per update and one per
 * matrix: the same feature matrix bit for bit (up to the sign of a zero, as between the numpy paths).
 *
 * A Kernel holds buffer views of the store's arrays (rings, write positions, period counts, the _Batch tables
 * and the counters) and is rebuilt whenever the store reallocates them (growth). It checks every argument it is
 * given per call (shape, item size, row ids in range) and raises ValueError otherwise, so a bad call cannot
 * write out of bounds.
 *
 * Built with -ffp-contract=off: a fused multiply-add would round once where numpy rounds twice.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

enum { V_RINGS, V_HEAD, V_SEEN, V_OFFSETS, V_WEIGHTS, V_ACBD, V_MISSING, V_NAN, N_VIEWS };

typedef struct {
    PyObject_HEAD
    Py_buffer views[N_VIEWS];
    int held;
    double *rings;
    Py_ssize_t *head;
    int64_t *seen;
    Py_ssize_t *offsets;
    double *weights;
    Py_ssize_t *acbd;
    int64_t *missing;
    int64_t *nan_features;
    Py_ssize_t window, n_meas, capacity, history, n_terms, n_sums, n_features, rows;
    Py_ssize_t max_lo, max_hi, min_lo, min_hi, last_lo, last_hi, seen_lo;
    double *table; /* n_sums + 2 + max/min/last values, one row's worth */
    Py_ssize_t table_len;
} Kernel;

static void kernel_release(Kernel *self) {
    for (int i = 0; i < self->held; i++) {
        PyBuffer_Release(&self->views[i]);
    }
    self->held = 0;
    PyMem_Free(self->table);
    self->table = NULL;
}

static void Kernel_dealloc(Kernel *self) {
    kernel_release(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* A writable or read-only, C-contiguous view of `obj` with `count` items of `itemsize` bytes. */
static int take_view(Kernel *self, int slot, PyObject *obj, Py_ssize_t itemsize, Py_ssize_t count, int writable,
                     const char *name) {
    Py_buffer *v = &self->views[slot];
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, v, flags) < 0) {
        return -1;
    }
    self->held = slot + 1;
    if (v->itemsize != itemsize || v->len != itemsize * count) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd items of %zd bytes, got %zd bytes of items of %zd", name,
                     count, itemsize, v->len, v->itemsize);
        return -1;
    }
    return 0;
}

static int Kernel_init(Kernel *self, PyObject *args, PyObject *kwds) {
    PyObject *rings, *head, *seen, *offsets, *weights, *acbd, *missing, *nan_features;
    Py_ssize_t window, n_meas, capacity, history, n_terms, n_sums, n_features;
    Py_ssize_t max_lo, max_hi, min_lo, min_hi, last_lo, last_hi, seen_lo;
    static char *kwlist[] = {"rings",    "head",    "seen",   "offsets", "weights", "acbd",    "missing",
                             "nan",      "window",  "n_meas", "capacity", "history", "n_terms", "n_sums",
                             "n_features", "max_lo", "max_hi", "min_lo",  "min_hi",  "last_lo", "last_hi",
                             "seen_lo",  NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOOOOOnnnnnnnnnnnnnn", kwlist, &rings, &head, &seen, &offsets,
                                     &weights, &acbd, &missing, &nan_features, &window, &n_meas, &capacity, &history,
                                     &n_terms, &n_sums, &n_features, &max_lo, &max_hi, &min_lo, &min_hi, &last_lo,
                                     &last_hi, &seen_lo)) {
        return -1;
    }
    kernel_release(self);
    if (window < 1 || n_meas < 1 || capacity < 1 || history < 1 || history > window || n_features < 1 ||
        n_sums < 0 || n_terms < n_sums || !(n_sums <= max_lo && max_lo <= max_hi && max_hi <= min_lo &&
                                            min_lo <= min_hi && min_hi <= last_lo && last_lo <= last_hi &&
                                            last_hi == seen_lo && seen_lo + (last_hi - last_lo) == n_terms)) {
        PyErr_SetString(PyExc_ValueError, "inconsistent kernel layout");
        return -1;
    }
    Py_ssize_t ring_items = 3 * (window + 1) * n_meas * capacity;
    if (take_view(self, V_RINGS, rings, 8, ring_items, 1, "rings") < 0 ||
        take_view(self, V_HEAD, head, (Py_ssize_t)sizeof(Py_ssize_t), capacity, 1, "head") < 0 ||
        take_view(self, V_SEEN, seen, 8, capacity, 1, "seen") < 0 ||
        take_view(self, V_OFFSETS, offsets, (Py_ssize_t)sizeof(Py_ssize_t), window * history * n_terms, 0,
                  "offsets") < 0 ||
        take_view(self, V_WEIGHTS, weights, 8, history * n_sums, 0, "weights") < 0 ||
        take_view(self, V_ACBD, acbd, (Py_ssize_t)sizeof(Py_ssize_t), 4 * 2 * n_features, 0, "acbd") < 0 ||
        take_view(self, V_MISSING, missing, 8, n_meas, 1, "missing") < 0 ||
        take_view(self, V_NAN, nan_features, 8, n_features, 1, "nan") < 0) {
        kernel_release(self);
        return -1;
    }
    self->rings = (double *)self->views[V_RINGS].buf;
    self->head = (Py_ssize_t *)self->views[V_HEAD].buf;
    self->seen = (int64_t *)self->views[V_SEEN].buf;
    self->offsets = (Py_ssize_t *)self->views[V_OFFSETS].buf;
    self->weights = (double *)self->views[V_WEIGHTS].buf;
    self->acbd = (Py_ssize_t *)self->views[V_ACBD].buf;
    self->missing = (int64_t *)self->views[V_MISSING].buf;
    self->nan_features = (int64_t *)self->views[V_NAN].buf;
    self->window = window;
    self->n_meas = n_meas;
    self->capacity = capacity;
    self->history = history;
    self->n_terms = n_terms;
    self->n_sums = n_sums;
    self->n_features = n_features;
    self->max_lo = max_lo;
    self->max_hi = max_hi;
    self->min_lo = min_lo;
    self->min_hi = min_hi;
    self->last_lo = last_lo;
    self->last_hi = last_hi;
    self->seen_lo = seen_lo;
    /* The table's rows: sums, 1, 0, then the MAX, MIN and LAST values (term t >= n_sums is row t + 2). */
    self->table_len = last_hi + 2;
    /* Every offset must land inside the rings for any row id below capacity. */
    for (Py_ssize_t i = 0; i < window * history * n_terms; i++) {
        Py_ssize_t o = self->offsets[i];
        if (o < 0 || o + capacity > ring_items) {
            PyErr_SetString(PyExc_ValueError, "offsets: out of the rings");
            kernel_release(self);
            return -1;
        }
    }
    for (Py_ssize_t i = 0; i < 8 * n_features; i++) {
        if (self->acbd[i] < 0 || self->acbd[i] >= self->table_len) {
            PyErr_SetString(PyExc_ValueError, "acbd: out of the table");
            kernel_release(self);
            return -1;
        }
    }
    self->table = PyMem_Malloc((size_t)self->table_len * sizeof(double));
    if (self->table == NULL) {
        kernel_release(self);
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* The row ids of a call: a C-contiguous buffer of intp, each in [0, rows). */
static int get_ids(Kernel *self, PyObject *obj, Py_buffer *ids, Py_ssize_t rows) {
    if (PyObject_GetBuffer(obj, ids, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        return -1;
    }
    const char *fmt = ids->format != NULL ? ids->format : "B";
    if (fmt[0] == '=' || fmt[0] == '@' || fmt[0] == '<') {
        fmt++;
    }
    int integral = (fmt[0] == 'l' || fmt[0] == 'q' || fmt[0] == 'n') && fmt[1] == '\0';
    if (!integral || ids->itemsize != (Py_ssize_t)sizeof(Py_ssize_t) || ids->len == 0) {
        PyBuffer_Release(ids);
        PyErr_SetString(PyExc_ValueError, "ids must be a non-empty array of intp");
        return -1;
    }
    const Py_ssize_t *p = (const Py_ssize_t *)ids->buf;
    Py_ssize_t n = ids->len / ids->itemsize;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (p[i] < 0 || p[i] >= rows || self->head[p[i]] < 0 || self->head[p[i]] >= self->window) {
            PyBuffer_Release(ids);
            PyErr_Format(PyExc_ValueError, "row id %zd out of [0, %zd)", p[i], rows);
            return -1;
        }
    }
    return 0;
}

static int get_out(PyObject *obj, Py_buffer *out, Py_ssize_t itemsize, Py_ssize_t count, const char *name) {
    if (PyObject_GetBuffer(obj, out, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE | PyBUF_FORMAT) < 0) {
        return -1;
    }
    if (out->itemsize != itemsize || out->len != itemsize * count) {
        PyBuffer_Release(out);
        PyErr_Format(PyExc_ValueError, "%s: expected %zd items of %zd bytes", name, count, itemsize);
        return -1;
    }
    return 0;
}

/* update(ids, values, rows) -> int: append one period; the next write position shared by every row, or -1. */
static PyObject *Kernel_update(Kernel *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "update(ids, values, rows)");
        return NULL;
    }
    if (self->held != N_VIEWS) {
        PyErr_SetString(PyExc_ValueError, "kernel not initialised");
        return NULL;
    }
    Py_ssize_t rows = PyLong_AsSsize_t(args[2]);
    if (rows == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (rows < 0 || rows > self->capacity) {
        PyErr_SetString(PyExc_ValueError, "rows out of the capacity");
        return NULL;
    }
    Py_buffer ids, vals;
    if (get_ids(self, args[0], &ids, rows) < 0) {
        return NULL;
    }
    Py_ssize_t n = ids.len / ids.itemsize;
    if (PyObject_GetBuffer(args[1], &vals, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        PyBuffer_Release(&ids);
        return NULL;
    }
    if (vals.itemsize != 8 || vals.len != 8 * n * self->n_meas || vals.format == NULL || strcmp(vals.format, "d")) {
        PyBuffer_Release(&ids);
        PyBuffer_Release(&vals);
        PyErr_SetString(PyExc_ValueError, "values must be float64 [n, measurements]");
        return NULL;
    }
    const Py_ssize_t *id = (const Py_ssize_t *)ids.buf;
    const double *v = (const double *)vals.buf;
    const Py_ssize_t w = self->window, nm = self->n_meas, cap = self->capacity;
    /* ring r, slot s, measurement m, row i at ((r * (w + 1) + s) * nm + m) * cap + i */
    const Py_ssize_t ring_stride = (w + 1) * nm * cap;
    Py_ssize_t shared = -2;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t r = id[i];
        Py_ssize_t h = self->head[r];
        double *slot = self->rings + h * nm * cap + r;
        for (Py_ssize_t m = 0; m < nm; m++) {
            double x = v[i * nm + m];
            int gone = isnan(x);
            slot[m * cap] = x;
            slot[ring_stride + m * cap] = gone ? 0.0 : x;
            slot[2 * ring_stride + m * cap] = gone ? 0.0 : 1.0;
            self->missing[m] += gone;
        }
        Py_ssize_t nxt = h + 1 == w ? 0 : h + 1;
        self->head[r] = nxt;
        self->seen[r] += 1;
        shared = shared == -2 ? nxt : (shared == nxt ? shared : -1);
    }
    PyBuffer_Release(&ids);
    PyBuffer_Release(&vals);
    return PyLong_FromSsize_t(shared);
}

/* matrix(ids, out, incomplete, ready, rows) -> int: features of `ids` into out (float32 [n, features]),
 * per row whether a feature is NaN (incomplete, bool) and whether it has `history` periods (ready, bool).
 * Returns the number of NaN features; counts them per feature. */
static PyObject *Kernel_matrix(Kernel *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "matrix(ids, out, incomplete, ready, rows)");
        return NULL;
    }
    if (self->held != N_VIEWS) {
        PyErr_SetString(PyExc_ValueError, "kernel not initialised");
        return NULL;
    }
    Py_ssize_t rows = PyLong_AsSsize_t(args[4]);
    if (rows == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (rows < 0 || rows > self->capacity) {
        PyErr_SetString(PyExc_ValueError, "rows out of the capacity");
        return NULL;
    }
    Py_buffer ids, out, inc, rdy;
    if (get_ids(self, args[0], &ids, rows) < 0) {
        return NULL;
    }
    Py_ssize_t n = ids.len / ids.itemsize;
    const Py_ssize_t f = self->n_features;
    if (get_out(args[1], &out, 4, n * f, "out") < 0) {
        PyBuffer_Release(&ids);
        return NULL;
    }
    if (out.format == NULL || strcmp(out.format, "f")) {
        PyBuffer_Release(&ids);
        PyBuffer_Release(&out);
        PyErr_SetString(PyExc_ValueError, "out must be float32");
        return NULL;
    }
    if (get_out(args[2], &inc, 1, n, "incomplete") < 0) {
        PyBuffer_Release(&ids);
        PyBuffer_Release(&out);
        return NULL;
    }
    if (get_out(args[3], &rdy, 1, n, "ready") < 0) {
        PyBuffer_Release(&ids);
        PyBuffer_Release(&out);
        PyBuffer_Release(&inc);
        return NULL;
    }
    const Py_ssize_t *id = (const Py_ssize_t *)ids.buf;
    float *res = (float *)out.buf;
    unsigned char *incomplete = (unsigned char *)inc.buf;
    unsigned char *ready = (unsigned char *)rdy.buf;
    const Py_ssize_t hist = self->history, nt = self->n_terms, ns = self->n_sums;
    const double *rings = self->rings, *weights = self->weights;
    const Py_ssize_t *acbd = self->acbd;
    double *table = self->table;
    Py_ssize_t nans = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t r = id[i];
        const Py_ssize_t *off = self->offsets + self->head[r] * hist * nt; /* [age, term] for row 0 */
        const double *base = rings + r;
        /* Weighted sums: the ages added one after the other, newest first (numpy's outer-axis reduction). */
        for (Py_ssize_t t = 0; t < ns; t++) {
            double acc = base[off[t]] * weights[t];
            for (Py_ssize_t a = 1; a < hist; a++) {
                double p = base[off[a * nt + t]] * weights[a * ns + t];
                acc = acc + p;
            }
            table[t] = acc;
        }
        table[ns] = 1.0;
        table[ns + 1] = 0.0;
        for (Py_ssize_t t = self->max_lo; t < self->max_hi; t++) {
            double acc = base[off[t]];
            for (Py_ssize_t a = 1; a < hist; a++) {
                acc = fmax(acc, base[off[a * nt + t]]);
            }
            table[t + 2] = acc;
        }
        for (Py_ssize_t t = self->min_lo; t < self->min_hi; t++) {
            double acc = base[off[t]];
            for (Py_ssize_t a = 1; a < hist; a++) {
                acc = fmin(acc, base[off[a * nt + t]]);
            }
            table[t + 2] = acc;
        }
        for (Py_ssize_t j = 0; j < self->last_hi - self->last_lo; j++) {
            Py_ssize_t t = self->last_lo + j, s = self->seen_lo + j, newest = 0;
            /* argmax of the presence over the ages: the first age holding the largest value (1.0 if any). */
            double best = base[off[s]];
            for (Py_ssize_t a = 1; a < hist; a++) {
                double p = base[off[a * nt + s]];
                if (p > best || (isnan(p) && !isnan(best))) {
                    best = p;
                    newest = a;
                }
            }
            table[t + 2] = base[off[newest * nt + t]];
        }
        int any_nan = 0;
        for (Py_ssize_t k = 0; k < f; k++) {
            double top_ab = table[acbd[k]] * table[acbd[4 * f + k]];
            double top_cd = table[acbd[2 * f + k]] * table[acbd[6 * f + k]];
            double bot_ab = table[acbd[f + k]] * table[acbd[5 * f + k]];
            double bot_cd = table[acbd[3 * f + k]] * table[acbd[7 * f + k]];
            double top = top_ab - top_cd;
            double bottom = bot_ab - bot_cd;
            double x = top / bottom;
            if (isnan(x)) {
                self->nan_features[k] += 1;
                nans += 1;
                any_nan = 1;
            }
            res[i * f + k] = (float)x;
        }
        incomplete[i] = (unsigned char)any_nan;
        ready[i] = self->seen[r] >= hist;
    }
    PyBuffer_Release(&ids);
    PyBuffer_Release(&out);
    PyBuffer_Release(&inc);
    PyBuffer_Release(&rdy);
    return PyLong_FromSsize_t(nans);
}

static PyMethodDef Kernel_methods[] = {
    {"update", (PyCFunction)(void (*)(void))Kernel_update, METH_FASTCALL,
     "update(ids, values, rows) -> int: append one period to rows `ids` (distinct); the next write position they "
     "all share, or -1."},
    {"matrix", (PyCFunction)(void (*)(void))Kernel_matrix, METH_FASTCALL,
     "matrix(ids, out, incomplete, ready, rows) -> int: features, NaN flags and readiness of rows `ids`; the "
     "number of NaN features."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject KernelType = {
    .ob_base = PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ricsdk.features._kernel.Kernel",
    .tp_basicsize = sizeof(Kernel),
    .tp_itemsize = 0,
    .tp_dealloc = (destructor)Kernel_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Views of a FeatureStore's rings and small-batch tables, and the two operations on them.",
    .tp_methods = Kernel_methods,
    .tp_init = (initproc)Kernel_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef kernel_module = {
    PyModuleDef_HEAD_INIT, "ricsdk.features._kernel",
    "The small-batch feature path of ricsdk.features.FeatureStore in C (optional; numpy is the fallback).", -1, NULL,
};

PyMODINIT_FUNC PyInit__kernel(void) {
    if (PyType_Ready(&KernelType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&kernel_module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&KernelType);
    if (PyModule_AddObject(m, "Kernel", (PyObject *)&KernelType) < 0) {
        Py_DECREF(&KernelType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
