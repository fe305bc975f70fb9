"""LoadedModel's bound path: reusable onnxruntime I/O bindings per batch size, the same outputs as session.run."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from structlog.testing import capture_logs

from ricsdk.models import ModelSpec, load_model
from ricsdk.models.loaded import _BOUND_MAX_ROWS, _BOUND_SIZES, LoadedModel, _Bound
from tests.models.test_loading import expected

Writer = Callable[..., tuple[Path, ModelSpec]]


def _reference(model: LoadedModel, x: np.ndarray) -> np.ndarray:
    y: np.ndarray = model._session.run([model.spec.output_name], {model.spec.input_name: x})[0]
    return y


def test_bound_calls_give_what_session_run_gives(write_model: Writer) -> None:
    """The first call of a batch size binds buffers, later ones use them; each result is the caller's own array
    (a later call never writes into it); sizes beyond the limit keep session.run."""
    _, spec = write_model()
    model = load_model(spec)
    rng = np.random.default_rng(3)
    kept: list[tuple[np.ndarray, np.ndarray]] = []
    big = _BOUND_MAX_ROWS + 1
    for n in [1, 3, 3, 8, 8, 8, big, big, 3]:
        x = rng.normal(size=(n, 3)).astype(np.float32)
        y = model.infer(x)
        np.testing.assert_array_equal(y, _reference(model, x))
        kept.append((y, y.copy()))
    assert sorted(model._bound) == [1, 3, 8]
    for y, copy in kept:
        np.testing.assert_array_equal(y, copy)
    assert model.calls == 9 and model.failures == 0


def test_a_non_contiguous_input_is_copied_into_the_binding(write_model: Writer) -> None:
    _, spec = write_model()
    model = load_model(spec)
    wide = np.arange(24, dtype=np.float32).reshape(4, 6)
    for _ in range(2):
        x = wide[:, ::2]
        np.testing.assert_allclose(model.infer(x), expected(np.ascontiguousarray(x)), rtol=1e-6)
    assert 4 in model._bound


def test_flat_output_layout_is_bound_and_reshaped(write_model: Writer) -> None:
    _, spec = write_model(flat_output=True, spec={"allow_reshape": True})
    model = load_model(spec)
    x = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]], dtype=np.float32)
    for _ in range(3):
        y = model.infer(x)
        assert y.shape == (2, 2)
        np.testing.assert_allclose(y, expected(x), rtol=1e-6)
    assert model._bound[2].y.shape == (4, 1)


def test_only_the_first_batch_sizes_are_bound(write_model: Writer) -> None:
    _, spec = write_model()
    model = load_model(spec)
    for n in range(1, _BOUND_SIZES + 4):
        x = np.full((n, 3), float(n), dtype=np.float32)
        np.testing.assert_allclose(model.infer(x), expected(x), rtol=1e-6)
    assert sorted(model._bound) == list(range(1, _BOUND_SIZES + 1))


def test_a_refused_bound_call_falls_back_to_session_run(write_model: Writer) -> None:
    """A binding onnxruntime refuses (here an output buffer of the wrong shape) turns the bound path off for the
    model, logged; the call is answered by session.run and is not an inference failure."""
    _, spec = write_model()
    model = load_model(spec)
    x = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]], dtype=np.float32)
    model.infer(x)
    good = model._bound[2]
    binding = model._session.io_binding()
    wrong = np.zeros((5, 7), dtype=np.float32)
    binding.bind_input("features", "cpu", 0, np.float32, list(good.x.shape), good.x.ctypes.data)
    binding.bind_output("out", "cpu", 0, np.float32, [5, 7], wrong.ctypes.data)
    model._bound[2] = _Bound(binding._iobinding, good.x, wrong)
    with capture_logs() as logs:
        y = model.infer(x)
    np.testing.assert_allclose(y, expected(x), rtol=1e-6)
    assert model.failures == 0 and model._bound_run is None and not model._bound
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
        "onnxruntime I/O binding off for this model; using session.run"
    ]
    np.testing.assert_allclose(model.infer(x), expected(x), rtol=1e-6)
    assert not model._bound


def test_concurrent_callers_each_get_their_own_result(write_model: Writer) -> None:
    """Two threads on one model: a call that finds the binding in use takes session.run, never a shared buffer."""
    _, spec = write_model()
    model = load_model(spec)
    model.infer(np.zeros((4, 3), dtype=np.float32))
    errors: list[str] = []

    def worker(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(400):
            x = rng.normal(size=(4, 3)).astype(np.float32)
            y = model.infer(x)
            if not np.allclose(y, expected(x), rtol=1e-5, atol=1e-5):
                errors.append(f"thread {seed}: wrong result")
                return

    threads = [threading.Thread(target=worker, args=(s,)) for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert model.calls == 801


def test_a_session_that_is_not_onnxruntime_takes_its_own_run(write_model: Writer) -> None:
    _, spec = write_model()
    real = load_model(spec)

    class Recording:
        def __init__(self) -> None:
            self.calls = 0

        def run(self, output_names: list[str], input_feed: dict[str, np.ndarray]) -> list[np.ndarray]:
            self.calls += 1
            return list(real._session.run(output_names, input_feed))

    session = Recording()
    model = LoadedModel(spec, session)
    x = np.ones((2, 3), dtype=np.float32)
    for _ in range(3):
        np.testing.assert_allclose(model.infer(x), expected(x), rtol=1e-6)
    assert session.calls == 3 and not model._bound
