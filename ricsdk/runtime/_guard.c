/* ricsdk.runtime._guard: the policy guard of ModelXApp (model_xapp.py) for one indication's slices, in C.
 *
 * ModelXApp._guard_rows runs, per slice, the quota mapping (ModelXApp._want) and the guard (ModelXApp._clamp:
 * the manifest bounds narrowed by an A1 SLA, the rounding to whole percent, ordering, the per-period rate limit
 * and the dedicated floor). This is the same arithmetic on the same doubles and integers, in the same order,
 * for every slice whose row is usable; rows the guard holds (no model, a failed or non-finite inference,
 * warming up, missing features) are returned as None for the Python code to fill in, with its reasons and
 * counters. model_xapp.py keeps the Python loop as the reference and the fallback: the result is the same
 * quotas and reasons (tests compare both on generated inputs). Anything unexpected in the inputs (a value
 * that is not a number, an integer out of range, a short output row) gives None, and Python decides.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *s_quota, *s_policy, *s_sla;

/* An int (or None when allow_none) in [-2**40, 2**40]; 0 on success, -1 (no error set) otherwise. */
static int small_int(PyObject *o, long long *out) {
    if (!PyLong_Check(o)) {
        return -1;
    }
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow || v < -(1LL << 40) || v > (1LL << 40)) {
        PyErr_Clear();
        return -1;
    }
    *out = v;
    return 0;
}

/* A tuple of exactly n ints. */
static int int_tuple(PyObject *t, Py_ssize_t n, long long *out) {
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != n) {
        return -1;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        if (small_int(PyTuple_GET_ITEM(t, k), &out[k]) < 0) {
            return -1;
        }
    }
    return 0;
}

static int number(PyObject *o, double *out) {
    if (PyFloat_CheckExact(o)) {
        *out = PyFloat_AS_DOUBLE(o);
        return 0;
    }
    if (PyLong_CheckExact(o)) {
        *out = PyLong_AsDouble(o);
        if (*out == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            return -1;
        }
        return 0;
    }
    return -1;
}

/* int(w + 0.5) clamped to 0..100, as _clamp rounds a wanted percentage (NaN and <= 0 give 0). */
static long long percent(double w) {
    if (!(w > 0.0)) {
        return 0;
    }
    if (w >= 100.0) {
        return 100;
    }
    return (long long)(w + 0.5);
}

static long long within(long long v, long long lo, long long hi) { return v < lo ? lo : v > hi ? hi : v; }

/* guard(outputs, status, ready, incomplete, off, states, limits, prb_need, floor, headroom, dedicated,
 *       max_step, reasons) -> (quotas, reasons, changed, held) | None
 *
 * Slices i = 0 .. len(states) - 1 use row off + i of outputs (lists of floats), status (ints, 0 = OK), ready and
 * incomplete (bools). states are _SliceState (quota: None or (min, max, dedicated); policy.sla: None or
 * (min, max)), limits (min bound, max bound, dedicated floor) tuples. reasons is the tuple of the four reason
 * strings ("", "sla", "clamped", "rate-limited") handed back as they apply. A held slice gets None in both
 * lists and counts in held. */
static PyObject *guard(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 13) {
        PyErr_SetString(PyExc_TypeError, "guard() takes 13 arguments");
        return NULL;
    }
    PyObject *outputs = args[0], *status = args[1], *ready = args[2], *incomplete = args[3];
    PyObject *states = args[5], *limits = args[6], *reason_strs = args[12];
    if (!PyList_CheckExact(outputs) || !PyList_CheckExact(status) || !PyList_CheckExact(ready) ||
        !PyList_CheckExact(incomplete) || !PyList_CheckExact(states) || !PyList_CheckExact(limits) ||
        !PyTuple_CheckExact(reason_strs) || PyTuple_GET_SIZE(reason_strs) != 4) {
        PyErr_SetString(PyExc_TypeError, "guard: lists expected (and a tuple of four reasons)");
        return NULL;
    }
    Py_ssize_t off = PyLong_AsSsize_t(args[4]);
    long long max_step;
    double floor_, headroom, dedicated;
    int prb_need = PyObject_IsTrue(args[7]);
    if ((off == -1 && PyErr_Occurred()) || prb_need < 0) {
        return NULL;
    }
    if (small_int(args[11], &max_step) < 0 || number(args[8], &floor_) < 0 || number(args[9], &headroom) < 0 ||
        number(args[10], &dedicated) < 0) {
        Py_RETURN_NONE;
    }
    Py_ssize_t n = PyList_GET_SIZE(states);
    if (off < 0 || PyList_GET_SIZE(limits) != n || off + n > PyList_GET_SIZE(outputs) ||
        off + n > PyList_GET_SIZE(status) || off + n > PyList_GET_SIZE(ready) || off + n > PyList_GET_SIZE(incomplete)) {
        Py_RETURN_NONE;
    }
    if (s_quota == NULL) {
        s_quota = PyUnicode_InternFromString("quota");
        s_policy = PyUnicode_InternFromString("policy");
        s_sla = PyUnicode_InternFromString("sla");
        if (s_quota == NULL || s_policy == NULL || s_sla == NULL) {
            return NULL;
        }
    }
    PyObject *quotas = PyList_New(n), *reasons = PyList_New(n);
    if (quotas == NULL || reasons == NULL) {
        Py_XDECREF(quotas);
        Py_XDECREF(reasons);
        return NULL;
    }
    int changed = 0;
    Py_ssize_t held = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t j = off + i;
        PyObject *sj = PyList_GET_ITEM(status, j);
        long long code;
        if (small_int(sj, &code) < 0) {
            goto python;
        }
        int r = PyObject_IsTrue(PyList_GET_ITEM(ready, j));
        int inc = PyObject_IsTrue(PyList_GET_ITEM(incomplete, j));
        if (r < 0 || inc < 0) {
            goto error;
        }
        if (code != 0 || !r || inc) {
            Py_INCREF(Py_None);
            PyList_SET_ITEM(quotas, i, Py_None);
            Py_INCREF(Py_None);
            PyList_SET_ITEM(reasons, i, Py_None);
            held++;
            continue;
        }
        long long lim[3];
        if (int_tuple(PyList_GET_ITEM(limits, i), 3, lim) < 0) {
            goto python;
        }
        PyObject *st = PyList_GET_ITEM(states, i);
        PyObject *policy = PyObject_GetAttr(st, s_policy);
        if (policy == NULL) {
            goto error;
        }
        PyObject *sla = PyObject_GetAttr(policy, s_sla);
        Py_DECREF(policy);
        if (sla == NULL) {
            goto error;
        }
        long long lo = lim[0], hi = lim[1], dfloor = lim[2];
        int reason = 0;
        if (sla != Py_None) {
            long long s2[2];
            int bad = int_tuple(sla, 2, s2) < 0;
            Py_DECREF(sla);
            if (bad) {
                goto python;
            }
            lo = s2[0] > lo ? s2[0] : lo;
            hi = s2[1] < hi ? s2[1] : hi;
            if (lo > hi) {
                lo = hi;
            }
            reason = 1;
        } else {
            Py_DECREF(sla);
        }
        PyObject *row = PyList_GET_ITEM(outputs, j);
        if (!PyList_Check(row) || PyList_GET_SIZE(row) < (prb_need ? 1 : 3)) {
            goto python;
        }
        double w0, w1, w2;
        if (prb_need) {
            double need;
            if (number(PyList_GET_ITEM(row, 0), &need) < 0) {
                goto python;
            }
            w0 = need * floor_;
            w1 = need * (1.0 + headroom);
            w2 = dedicated;
        } else if (number(PyList_GET_ITEM(row, 0), &w0) < 0 || number(PyList_GET_ITEM(row, 1), &w1) < 0 ||
                   number(PyList_GET_ITEM(row, 2), &w2) < 0) {
            goto python;
        }
        long long mn = percent(w0), mx = percent(w1), ded = percent(w2);
        long long mn2 = within(mn, lo, hi), mx2 = within(mx, lo, hi);
        if (!reason && (mn2 != mn || mx2 != mx)) {
            reason = 2;
        }
        if (mx2 < mn2) {
            mx2 = mn2;
        }
        PyObject *last = PyObject_GetAttr(st, s_quota);
        if (last == NULL) {
            goto error;
        }
        long long q3[3];
        int has_last = last != Py_None;
        if (has_last && int_tuple(last, 3, q3) < 0) {
            Py_DECREF(last);
            goto python;
        }
        Py_DECREF(last);
        if (has_last && max_step < 100) {
            long long mn3 = within(mn2, q3[0] - max_step, q3[0] + max_step);
            long long mx3 = within(mx2, q3[1] - max_step, q3[1] + max_step);
            /* the bounds (manifest and A1) win over the rate limit */
            mn3 = within(mn3, lo, hi);
            mx3 = within(mx3, lo, hi);
            if (mx3 < mn3) {
                mx3 = mn3;
            }
            if (mn3 != mn2 || mx3 != mx2) {
                reason = 3;
            }
            mn2 = mn3;
            mx2 = mx3;
        }
        ded = ded < dfloor ? dfloor : ded;
        if (ded > mn2) {
            ded = mn2;
        }
        if (!has_last || q3[0] != mn2 || q3[1] != mx2 || q3[2] != ded) {
            changed = 1;
        }
        PyObject *q = Py_BuildValue("(LLL)", mn2, mx2, ded);
        if (q == NULL) {
            goto error;
        }
        PyList_SET_ITEM(quotas, i, q);
        PyObject *why = PyTuple_GET_ITEM(reason_strs, reason);
        Py_INCREF(why);
        PyList_SET_ITEM(reasons, i, why);
    }
    return Py_BuildValue("(NNOn)", quotas, reasons, changed ? Py_True : Py_False, held);
python:
    Py_DECREF(quotas);
    Py_DECREF(reasons);
    Py_RETURN_NONE;
error:
    Py_DECREF(quotas);
    Py_DECREF(reasons);
    return NULL;
}

static PyMethodDef methods[] = {
    {"guard", (PyCFunction)(void (*)(void))guard, METH_FASTCALL,
     "guard(outputs, status, ready, incomplete, off, states, limits, prb_need, floor, headroom, dedicated, "
     "max_step, reasons) -> (quotas, reasons, changed, held) | None: ModelXApp's policy guard for one "
     "indication's slices (see the module comment)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "ricsdk.runtime._guard",
    "ModelXApp's policy guard in C (optional; model_xapp.py is the reference and the fallback).", -1, methods,
};

PyMODINIT_FUNC PyInit__guard(void) { return PyModule_Create(&module); }
