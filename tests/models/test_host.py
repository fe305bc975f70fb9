"""ModelHost: slot routing (active, shadow, canary), stable canary selection, rollback, per-row failures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from structlog.testing import capture_logs

from ricsdk.errors import ModelError
from ricsdk.models import (
    ORT_ERRORS,
    LoadedModel,
    ModelHost,
    ModelSpec,
    RowSource,
    RowStatus,
    Slot,
    canary_unit,
    load_model,
)
from tests.models.conftest import weights

Writer = Callable[..., tuple[Path, ModelSpec]]
RNG = np.random.default_rng(3)
X = RNG.normal(size=(40, 3)).astype(np.float32)
ROWS = np.arange(40)
KEYS = [f"node1/cell{i % 4}/1-{i:06x}" for i in range(40)]


def expected(x: np.ndarray, scale: float) -> np.ndarray:
    w, b = weights(3, 2, scale)
    return x @ w + b


@pytest.fixture
def models(write_model: Writer) -> dict[str, LoadedModel]:
    """v1 (scale 1), v2 (scale 2), v3 (scale 3) and 'odd', which fails on odd batch sizes."""
    scales = {"v1": 1.0, "v2": 2.0, "v3": 3.0}
    out = {name: load_model(write_model(name, scale=scale)[1]) for name, scale in scales.items()}
    out["odd"] = load_model(write_model("odd", batch_multiple=2)[1])
    return out


def test_active_serves_every_row(models: dict[str, LoadedModel]) -> None:
    host = ModelHost(3, 2)
    host.install(Slot.ACTIVE, models["v1"])
    r = host.infer(ROWS, KEYS, X)
    np.testing.assert_allclose(r.outputs, expected(X, 1.0), rtol=1e-6)
    assert r.ok.all() and (r.source == RowSource.ACTIVE).all()
    assert r.models == {Slot.ACTIVE: models["v1"].identity} and r.model_of(5) == models["v1"].identity
    assert r.shadow_outputs is None and r.errors == {} and set(r.cpu_ns) == {Slot.ACTIVE}
    assert r.cpu_ns[Slot.ACTIVE] >= 0 and r.wall_ns[Slot.ACTIVE] > 0


def test_no_model_yet_is_a_row_status_not_an_exception() -> None:
    r = ModelHost(3, 2).infer(ROWS, KEYS, X)
    assert (r.status == RowStatus.NO_MODEL).all() and np.isnan(r.outputs).all() and r.slot_of(0) is None


def test_shadow_never_changes_active_outputs(models: dict[str, LoadedModel]) -> None:
    host = ModelHost(3, 2)
    host.install(Slot.ACTIVE, models["v1"])
    before = host.infer(ROWS, KEYS, X)
    host.install(Slot.SHADOW, models["v2"])
    with_shadow = host.infer(ROWS, KEYS, X)
    np.testing.assert_array_equal(with_shadow.outputs, before.outputs)
    np.testing.assert_array_equal(with_shadow.source, before.source)
    assert with_shadow.shadow_outputs is not None and with_shadow.shadow_status is not None
    np.testing.assert_allclose(with_shadow.shadow_outputs, expected(X, 2.0), rtol=1e-6)
    assert (with_shadow.shadow_status == RowStatus.OK).all()
    assert with_shadow.models[Slot.SHADOW] == models["v2"].identity
    host.install(Slot.SHADOW, models["odd"])
    failing_shadow = host.infer(ROWS[:3], KEYS[:3], X[:3])
    np.testing.assert_array_equal(failing_shadow.outputs, before.outputs[:3])
    assert failing_shadow.ok.all() and Slot.SHADOW in failing_shadow.errors
    assert failing_shadow.shadow_status is not None and (failing_shadow.shadow_status == RowStatus.FAILED).all()
    assert host.remove(Slot.SHADOW) is models["odd"] and host.infer(ROWS, KEYS, X).shadow_outputs is None


def test_canary_rows_are_stable_and_served_by_the_canary(models: dict[str, LoadedModel]) -> None:
    host = ModelHost(3, 2)
    host.install(Slot.ACTIVE, models["v1"])
    host.install(Slot.CANARY, models["v2"], fraction=0.3)
    r = host.infer(ROWS, KEYS, X)
    canary = np.array([canary_unit(k) < 0.3 for k in KEYS])
    assert 0 < canary.sum() < len(KEYS)
    np.testing.assert_array_equal(r.source == RowSource.CANARY, canary)
    np.testing.assert_allclose(r.outputs[canary], expected(X[canary], 2.0), rtol=1e-6)
    np.testing.assert_allclose(r.outputs[~canary], expected(X[~canary], 1.0), rtol=1e-6)
    assert r.model_of(int(np.flatnonzero(canary)[0])) == models["v2"].identity
    perm = RNG.permutation(40)
    again = host.infer(ROWS[perm], [KEYS[i] for i in perm], X[perm])
    np.testing.assert_array_equal(again.source == RowSource.CANARY, canary[perm])


def test_canary_fraction_is_close_and_monotone_over_many_keys() -> None:
    host = ModelHost(3, 2)
    keys = [f"node{i // 300}/cell{i % 3}/1-{i:06x}" for i in range(20_000)]
    rows = np.arange(len(keys))
    small = host.canary_mask(rows, keys, 0.05)
    large = host.canary_mask(rows, keys, 0.2)
    assert abs(small.mean() - 0.05) < 0.01 and abs(large.mean() - 0.2) < 0.015
    assert not (small & ~large).any(), "raising the fraction must only add slices"
    fresh = ModelHost(3, 2).canary_mask(rows[::-1].copy(), keys[::-1], 0.2)
    np.testing.assert_array_equal(fresh, large[::-1])
    assert ModelHost(3, 2).canary_mask(rows, keys, 1.0).all()


def test_rollback_reinstates_the_replaced_version(models: dict[str, LoadedModel]) -> None:
    host = ModelHost(3, 2, keep=2)
    with pytest.raises(ModelError, match="no earlier active version"):
        host.rollback()
    host.install(Slot.ACTIVE, models["v1"])
    host.install(Slot.ACTIVE, models["v2"])
    host.install(Slot.ACTIVE, models["v3"])
    assert host.rollback_versions == [models["v2"].identity, models["v1"].identity]
    with capture_logs() as logs:
        assert host.rollback() == models["v2"].identity
    assert logs[0]["event"] == "model rolled back" and logs[0]["log_level"] == "warning"
    np.testing.assert_allclose(host.infer(ROWS, KEYS, X).outputs, expected(X, 2.0), rtol=1e-6)
    assert host.rollback() == models["v1"].identity
    with pytest.raises(ModelError):
        host.rollback()
    np.testing.assert_allclose(host.infer(ROWS, KEYS, X).outputs, expected(X, 1.0), rtol=1e-6)


def test_promote_then_roll_back(models: dict[str, LoadedModel]) -> None:
    host = ModelHost(3, 2)
    host.install(Slot.ACTIVE, models["v1"])
    host.install(Slot.CANARY, models["v2"], fraction=0.5)
    assert host.promote() == models["v2"].identity
    assert host.versions() == {Slot.ACTIVE: models["v2"].identity} and host.canary_fraction == 0.0
    assert (host.infer(ROWS, KEYS, X).source == RowSource.ACTIVE).all()
    assert host.rollback() == models["v1"].identity
    with pytest.raises(ModelError, match="nothing to promote"):
        host.promote(Slot.SHADOW)
    with pytest.raises(ModelError):
        host.remove(Slot.ACTIVE)


def test_incompatible_install_is_refused_and_nothing_changes(
    models: dict[str, LoadedModel], write_model: Writer
) -> None:
    host = ModelHost(3, 2)
    host.install(Slot.ACTIVE, models["v1"])
    other = load_model(write_model("wide", n_features=4, spec={"n_features": 4})[1])
    with pytest.raises(ModelError, match="needs 3 and 2"):
        host.install(Slot.ACTIVE, other)
    with pytest.raises(ModelError, match="fraction"):
        host.install(Slot.CANARY, models["v2"], fraction=0.0)
    assert host.versions() == {Slot.ACTIVE: models["v1"].identity} and host.rollback_versions == []


def test_inference_failure_is_reported_per_row_without_raising(models: dict[str, LoadedModel]) -> None:
    host = ModelHost(3, 2, group="embb")
    host.install(Slot.ACTIVE, models["odd"])
    with capture_logs() as logs:
        r = host.infer(ROWS[:3], KEYS[:3], X[:3])
    assert (r.status == RowStatus.FAILED).all() and not r.ok.any() and np.isnan(r.outputs).all()
    assert (r.source == RowSource.ACTIVE).all()
    err = r.errors[Slot.ACTIVE]
    assert isinstance(err, ModelError) and isinstance(err.__cause__, ORT_ERRORS)
    assert "linear@odd" in str(err)
    assert logs[0]["event"] == "model inference failed" and logs[0]["group"] == "embb" and logs[0]["rows"] == 3
    assert host.stats[Slot.ACTIVE].failures == 1 and models["odd"].failures == 1
    ok = host.infer(ROWS[:4], KEYS[:4], X[:4])
    assert ok.ok.all() and host.stats[Slot.ACTIVE].calls == 2 and host.stats[Slot.ACTIVE].rows == 4


def test_a_failing_canary_leaves_active_rows_served(models: dict[str, LoadedModel]) -> None:
    host = ModelHost(3, 2)
    host.install(Slot.ACTIVE, models["v1"])
    host.install(Slot.CANARY, models["odd"], fraction=0.3)
    keys = [k for k in KEYS if canary_unit(k) < 0.3][:1] + [k for k in KEYS if canary_unit(k) >= 0.3][:4]
    r = host.infer(np.arange(5), keys, X[:5])
    assert r.status.tolist() == [RowStatus.FAILED] + [RowStatus.OK] * 4
    np.testing.assert_allclose(r.outputs[1:], expected(X[1:5], 1.0), rtol=1e-6)
    assert set(r.errors) == {Slot.CANARY} and r.slot_of(0) is Slot.CANARY


def test_non_finite_outputs_are_flagged(models: dict[str, LoadedModel]) -> None:
    host = ModelHost(3, 2)
    host.install(Slot.ACTIVE, models["v1"])
    x = X[:4].copy()
    x[2, 1] = np.nan
    r = host.infer(ROWS[:4], KEYS[:4], x)
    assert r.status.tolist() == [RowStatus.OK, RowStatus.OK, RowStatus.NON_FINITE, RowStatus.OK]
    assert host.stats[Slot.ACTIVE].non_finite_rows == 1


def test_inconsistent_arguments_are_a_caller_error(models: dict[str, LoadedModel]) -> None:
    host = ModelHost(3, 2)
    host.install(Slot.ACTIVE, models["v1"])
    with pytest.raises(ValueError):
        host.infer(ROWS[:3], KEYS[:2], X[:3])


def test_active_only_result_matches_the_routed_one(models: dict[str, LoadedModel]) -> None:
    """The single-model shortcut gives what routing gives when no row goes elsewhere: a canary whose fraction
    covers none of the keys sends every row through the routed path to the same active model."""
    x = X.copy()
    x[3, 0] = np.nan
    x[7, 2] = np.inf
    direct = ModelHost(3, 2)
    direct.install(Slot.ACTIVE, models["v1"])
    routed = ModelHost(3, 2)
    routed.install(Slot.ACTIVE, models["v1"])
    routed.install(Slot.CANARY, models["v2"], fraction=1e-12)
    for n in (0, 1, 8, 40):
        a, b = direct.infer(ROWS[:n], KEYS[:n], x[:n]), routed.infer(ROWS[:n], KEYS[:n], x[:n])
        for got, want in ((a.outputs, b.outputs), (a.status, b.status), (a.source, b.source)):
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)
        assert a.models == b.models and a.errors == b.errors and set(a.cpu_ns) == set(b.cpu_ns) == {Slot.ACTIVE}
        assert a.shadow_outputs is None and a.shadow_status is None
    assert direct.stats[Slot.ACTIVE] == routed.stats[Slot.ACTIVE]
    assert direct.stats[Slot.ACTIVE].non_finite_rows == 4


def test_results_own_their_arrays(models: dict[str, LoadedModel]) -> None:
    """Every result gets new arrays, even from a session that hands back one buffer for every call."""

    class OneBuffer:
        def __init__(self) -> None:
            self.out = np.zeros((4, 2), dtype=np.float32)

        def run(self, output_names: list[str], input_feed: dict[str, Any]) -> list[np.ndarray]:
            self.out[:] = input_feed["features"][:, :2]
            return [self.out]

    model = LoadedModel(models["v1"].spec, OneBuffer())
    host = ModelHost(3, 2)
    host.install(Slot.ACTIVE, model)
    first = host.infer(ROWS[:4], KEYS[:4], X[:4])
    kept = first.outputs.copy()
    second = host.infer(ROWS[:4], KEYS[:4], X[4:8])
    np.testing.assert_array_equal(first.outputs, kept)
    assert not np.shares_memory(first.outputs, second.outputs)
    assert not np.shares_memory(first.source, second.source) and not np.shares_memory(first.status, second.status)
    second.source[:] = RowSource.NONE
    assert (host.infer(ROWS[:4], KEYS[:4], X[:4]).source == RowSource.ACTIVE).all()
