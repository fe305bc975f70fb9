"""Loading a verified ONNX artifact into an onnxruntime session, and one batched inference call."""

from __future__ import annotations

import hashlib
import inspect
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import onnx
import onnxruntime as ort
import onnxruntime.capi.onnxruntime_pybind11_state as ort_state
import structlog
from google.protobuf.message import DecodeError
from numpy.typing import NDArray
from onnx import numpy_helper

from ricsdk.errors import ModelError
from ricsdk.models.spec import ModelSpec, ModelVersion

__all__ = [
    "NEGLIGIBLE_WEIGHT",
    "ORT_ERRORS",
    "LoadedModel",
    "Session",
    "count_negligible_weights",
    "load_model",
    "session_options",
]

# Everything onnxruntime raises: its own exception classes (which share no base below Exception), plus the
# RuntimeError / ValueError its Python layer raises for bad feeds.
ORT_ERRORS: tuple[type[Exception], ...] = (
    *(c for _, c in inspect.getmembers(ort_state, inspect.isclass) if issubclass(c, Exception)),
    RuntimeError,
    ValueError,
)

_BIND_ERRORS: tuple[type[Exception], ...] = (AttributeError, *ORT_ERRORS)  # a binding API missing or refusing

log = structlog.get_logger(__name__)

_FLOAT = "tensor(float)"
_PROBE_ROWS = 2
_BOUND_MAX_ROWS = 256  # batches up to this many rows get a reusable binding ...
_BOUND_SIZES = 8  # ... for this many distinct batch sizes (the first seen)


class _Bound:
    """A reusable onnxruntime I/O binding for one batch size: fixed input and output buffers bound once."""

    __slots__ = ("handle", "x", "y")

    def __init__(self, handle: Any, x: NDArray[np.float32], y: NDArray[np.float32]) -> None:
        self.handle = handle
        self.x = x
        self.y = y


class Session(Protocol):
    """The part of ``onnxruntime.InferenceSession`` the host uses."""

    def run(self, output_names: list[str], input_feed: dict[str, Any]) -> Sequence[Any]: ...


class LoadedModel:
    """A verified model version and its session, ready to serve; built by ``load_model``.

    ``infer`` makes one batched call and records its wall time (``clock``) and the CPU time of the calling
    thread (``cpu_clock``, ``time.thread_time_ns``): with ``intra_op_threads=1`` onnxruntime runs the whole
    graph on that thread, so this is the inference CPU cost; with more threads the pool's work is not in it.
    """

    def __init__(
        self,
        spec: ModelSpec,
        session: Session,
        *,
        reshape: bool = False,
        negligible_weights: int = 0,
        clock: Callable[[], int] = time.perf_counter_ns,
        cpu_clock: Callable[[], int] = time.thread_time_ns,
    ) -> None:
        self.spec = spec
        self.negligible_weights = negligible_weights
        self.identity: ModelVersion = spec.identity
        self._session = session
        self._outputs = [spec.output_name]
        self._input = spec.input_name
        self._reshape = reshape
        self._clock = clock
        self._cpu_clock = cpu_clock
        # The bound path (see ``_bind``): only for a real onnxruntime session, whose binding entry point is
        # looked up once; None turns it off.
        raw = getattr(session, "_sess", None) if isinstance(session, ort.InferenceSession) else None
        self._bound_run: Callable[[Any, Any], Any] | None = getattr(raw, "run_with_iobinding", None)
        self._bound: dict[int, _Bound] = {}
        self._bound_lock = threading.Lock()
        self._run_options = ort.RunOptions()
        self.calls = 0
        self.failures = 0
        self.rows = 0
        self.last_cpu_ns = 0
        self.last_wall_ns = 0
        self.cpu_ns_total = 0
        self.wall_ns_total = 0

    def __repr__(self) -> str:
        return f"LoadedModel({self.identity})"

    def infer(self, x: NDArray[np.float32]) -> NDArray[np.float32]:
        """Outputs ``[n, n_outputs]`` for features ``x`` (float32 ``[n, n_features]``), in one call.

        Raises ``ModelError`` (the onnxruntime exception chained) when the call fails or returns the wrong shape.
        """
        spec = self.spec
        if not isinstance(x, np.ndarray) or x.dtype != np.float32 or x.ndim != 2 or x.shape[1] != spec.n_features:
            got = f"{x.dtype} {list(x.shape)}" if isinstance(x, np.ndarray) else type(x).__name__
            raise ModelError(f"features must be float32 [n, {spec.n_features}], not {got}", model=str(self.identity))
        n = x.shape[0]
        k = spec.n_outputs
        if n == 0:
            return np.empty((0, k), dtype=np.float32)
        bound = self._bound.get(n)
        c0 = self._cpu_clock()
        t0 = self._clock()
        try:
            if bound is not None and self._bound_lock.acquire(blocking=False):
                try:
                    y = self._run_bound(bound, x)
                finally:
                    self._bound_lock.release()
            else:
                y = self._session.run(self._outputs, {self._input: np.ascontiguousarray(x)})[0]
        except ORT_ERRORS as exc:
            self.failures += 1
            raise ModelError(f"inference on {n} rows failed: {exc}", model=str(self.identity)) from exc
        finally:
            self.last_wall_ns = self._clock() - t0
            self.last_cpu_ns = self._cpu_clock() - c0
            self.calls += 1
            self.wall_ns_total += self.last_wall_ns
            self.cpu_ns_total += self.last_cpu_ns
        if bound is None and self._bound_run is not None and n <= _BOUND_MAX_ROWS:
            self._bind(n, y)  # outside the timed call: a one-off cost, not this inference's
        if self._reshape and isinstance(y, np.ndarray) and y.shape == (n * k, 1):
            y = y.reshape(n, k)
        if not isinstance(y, np.ndarray) or y.shape != (n, k) or y.dtype != np.float32:
            self.failures += 1
            got = f"{y.dtype} {list(y.shape)}" if isinstance(y, np.ndarray) else type(y).__name__
            raise ModelError(f"output must be float32 [{n}, {k}], got {got}", model=str(self.identity))
        self.rows += n
        return y

    def _run_bound(self, bound: _Bound, x: NDArray[np.float32]) -> NDArray[np.float32]:
        """One call through a reusable binding: ``x`` copied into its input buffer, a copy of its output returned.

        If onnxruntime refuses the bound call, the bound path is turned off for this model (logged once) and the
        call is made the ordinary way, so a binding problem is never reported as an inference failure.
        """
        np.copyto(bound.x, x)
        run = self._bound_run
        assert run is not None
        try:
            run(bound.handle, self._run_options)
        except ORT_ERRORS as exc:
            self._unbind(f"bound call refused: {exc}")
            y: NDArray[np.float32] = self._session.run(self._outputs, {self._input: np.ascontiguousarray(x)})[0]
            return y
        return bound.y.copy()

    def _bind(self, n: int, y: object) -> None:
        """Bind fixed buffers for batches of ``n`` rows, shaped after the output ``y`` of an ordinary call.

        ``session.run`` converts the feed, allocates the output and goes through onnxruntime's Python wrapper on
        every call; a binding made once and run through the session's own entry point (with a ``RunOptions``
        made once) skips all three: about 5.5 instead of 8 us for the flagship's 8 rows, and 28 instead of 40 us
        with the caches emptied as the decision loop leaves them. Only the first ``_BOUND_SIZES`` batch sizes up to
        ``_BOUND_MAX_ROWS`` rows are bound; other calls take ``session.run``.
        """
        if len(self._bound) >= _BOUND_SIZES or not isinstance(y, np.ndarray) or y.dtype != np.float32:
            return
        session = self._session
        assert isinstance(session, ort.InferenceSession)
        try:
            binding = session.io_binding()
            xb: NDArray[np.float32] = np.zeros((n, self.spec.n_features), dtype=np.float32)
            yb: NDArray[np.float32] = np.zeros(y.shape, dtype=np.float32)
            binding.bind_input(self._input, "cpu", 0, np.float32, list(xb.shape), xb.ctypes.data)
            binding.bind_output(self._outputs[0], "cpu", 0, np.float32, list(yb.shape), yb.ctypes.data)
            handle = binding._iobinding
        except _BIND_ERRORS as exc:
            self._unbind(f"cannot bind buffers: {exc!r}")
            return
        self._bound[n] = _Bound(handle, xb, yb)

    def _unbind(self, why: str) -> None:
        if self._bound_run is not None:
            log.warning(
                "onnxruntime I/O binding off for this model; using session.run", model=str(self.identity), why=why
            )
        self._bound_run = None
        self._bound.clear()


def _dims(shape: object) -> list[int | str | None]:
    return list(shape) if isinstance(shape, list | tuple) else []


def _check_io(spec: ModelSpec, session: ort.InferenceSession, who: str) -> bool:
    """Check the declared inputs and outputs against the spec; True when the output needs the reshape."""
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name: o for o in session.get_outputs()}
    if spec.input_name not in inputs:
        raise ModelError(f"no input named {spec.input_name!r} (inputs: {sorted(inputs)})", model=who)
    extra = sorted(set(inputs) - {spec.input_name})
    if extra:
        raise ModelError(f"inputs the host cannot feed: {extra}", model=who)
    if spec.output_name not in outputs:
        raise ModelError(f"no output named {spec.output_name!r} (outputs: {sorted(outputs)})", model=who)
    inp, out = inputs[spec.input_name], outputs[spec.output_name]
    for role, arg in (("input", inp), ("output", out)):
        if arg.type != _FLOAT:
            raise ModelError(f"{role} {arg.name!r} is {arg.type}, expected {_FLOAT}", model=who)
        dims = _dims(arg.shape)
        if len(dims) != 2:
            raise ModelError(f"{role} {arg.name!r} has shape {dims}, expected rank 2 [batch, n]", model=who)
        if isinstance(dims[0], int):
            raise ModelError(
                f"{role} {arg.name!r} has a fixed batch dimension {dims[0]}; the host batches every slice "
                "in one call, export it with a dynamic batch dimension",
                model=who,
            )
    in_dims, out_dims = _dims(inp.shape), _dims(out.shape)
    if in_dims[1] != spec.n_features:
        raise ModelError(f"input {inp.name!r} takes {in_dims[1]} features, the spec says {spec.n_features}", model=who)
    if out_dims[1] == spec.n_outputs:
        return False
    if out_dims[1] == 1 and spec.n_outputs > 1:
        if spec.allow_reshape:
            return True
        raise ModelError(
            f"output {out.name!r} is shaped [N*{spec.n_outputs}, 1] instead of [N, {spec.n_outputs}] (the "
            "skl2onnx multi-output layout): fix the graph's final Reshape or set allow_reshape",
            model=who,
        )
    raise ModelError(
        f"output {out.name!r} gives {out_dims[1]} values per row, the spec says {spec.n_outputs}", model=who
    )


def _probe(spec: ModelSpec, session: ort.InferenceSession, reshape: bool, who: str) -> None:
    """Run a small batch: declared shapes can lie (a dynamic dim, a Reshape to [-1, 1])."""
    x = np.zeros((_PROBE_ROWS, spec.n_features), dtype=np.float32)
    try:
        (y,) = session.run([spec.output_name], {spec.input_name: x})
    except ORT_ERRORS as exc:
        raise ModelError(f"a probe inference on {_PROBE_ROWS} rows failed: {exc}", model=who) from exc
    want = (_PROBE_ROWS * spec.n_outputs, 1) if reshape else (_PROBE_ROWS, spec.n_outputs)
    got = tuple(y.shape)
    if got != want:
        hint = (
            " (the skl2onnx [N*k, 1] layout: fix the graph's final Reshape or set allow_reshape)"
            if got == (_PROBE_ROWS * spec.n_outputs, 1)
            else ""
        )
        raise ModelError(
            f"a probe batch of {_PROBE_ROWS} rows gave output {list(got)}, expected {list(want)}{hint}", model=who
        )


NEGLIGIBLE_WEIGHT = 1e-30


def count_negligible_weights(model: onnx.ModelProto) -> int:
    """Nonzero float32 initializer values below ``NEGLIGIBLE_WEIGHT`` in magnitude (subnormal or near it).

    Weight decay leaves dead units with weights around 1e-38; multiplied by ordinary activations they give
    subnormal products, and x86 arithmetic on subnormals is very slow: the flagship MLP with 19 such weights
    took twice as long on real features, and five times on some inputs, as with them set to zero, which does not
    change its output. Flush them at export.
    """
    count = 0
    for init in model.graph.initializer:
        if init.data_type == onnx.TensorProto.FLOAT and init.data_location != onnx.TensorProto.EXTERNAL:
            a = numpy_helper.to_array(init)
            count += int(np.count_nonzero((a != 0) & (np.abs(a) < NEGLIGIBLE_WEIGHT)))
    return count


def session_options(spec: ModelSpec) -> ort.SessionOptions:
    """Session options for ``spec``: its intra-op threads, one inter-op thread, spinning as it says."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = spec.intra_op_threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    spin = "1" if spec.spinning else "0"
    opts.add_session_config_entry("session.intra_op.allow_spinning", spin)
    opts.add_session_config_entry("session.inter_op.allow_spinning", spin)
    opts.log_severity_level = 3
    return opts


def load_model(
    spec: ModelSpec,
    *,
    clock: Callable[[], int] = time.perf_counter_ns,
    cpu_clock: Callable[[], int] = time.thread_time_ns,
) -> LoadedModel:
    """Verify and load ``spec``'s artifact; ``ModelError`` naming the model and the mismatch if it is refused.

    A graph with near-subnormal float32 weights is loaded but logged (``count_negligible_weights``). The file is
    read once; its sha256 must equal the spec's, and the verified bytes (not the path, which could
    change in between) are what onnx checks structurally and onnxruntime loads. The declared input and output
    are checked against the spec, then a probe batch is run. Blocking (file I/O, graph optimisation): call it
    off the decision loop and ``ModelHost.install`` the result.
    """
    who = str(spec.identity)
    try:
        data = spec.path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read {spec.path}: {exc}", model=who) from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        raise ModelError(f"digest mismatch for {spec.path}: expected {spec.sha256}, the file has {digest}", model=who)
    try:
        proto = onnx.load_model_from_string(data)
        onnx.checker.check_model(proto)
    except (DecodeError, onnx.checker.ValidationError, ValueError) as exc:
        raise ModelError(f"{spec.path} is not a valid ONNX model: {exc}", model=who) from exc
    try:
        session = ort.InferenceSession(data, sess_options=session_options(spec), providers=["CPUExecutionProvider"])
    except ORT_ERRORS as exc:
        raise ModelError(f"onnxruntime refused {spec.path}: {exc}", model=who) from exc
    reshape = _check_io(spec, session, who)
    _probe(spec, session, reshape, who)
    negligible = count_negligible_weights(proto)
    if negligible:
        log.warning(
            "model has negligible (near-subnormal) weights: inference may be several times slower; "
            "set them to zero at export",
            model=who,
            count=negligible,
            below=NEGLIGIBLE_WEIGHT,
        )
    return LoadedModel(spec, session, reshape=reshape, negligible_weights=negligible, clock=clock, cpu_clock=cpu_clock)
