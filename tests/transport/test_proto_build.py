"""The protobuf build step: generated modules import as ricsdk._proto..., regeneration is clean and repeatable."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from ricsdk._proto import build

REPO = Path(__file__).resolve().parents[2]


def test_generated_modules_import_with_the_installed_runtime() -> None:
    messages = importlib.import_module("ricsdk._proto.e2relay.v1.e2relay_pb2")
    services = importlib.import_module("ricsdk._proto.e2relay.v1.e2relay_pb2_grpc")
    assert messages.DESCRIPTOR.package == "ricsdk.e2relay.v1"
    assert messages.DESCRIPTOR.name == "ricsdk/_proto/e2relay/v1/e2relay.proto"
    assert set(messages.DESCRIPTOR.services_by_name["E2Relay"].methods_by_name) == {
        "ListNodes",
        "Subscribe",
        "Unsubscribe",
        "Control",
    }
    assert hasattr(services, "E2RelayStub") and hasattr(services, "add_E2RelayServicer_to_server")
    ack = messages.SubscribeResponse(
        ack=messages.SubscriptionAck(e2ap_pdu=b"\x20\x08", subscription_instance_id="n/1/2/3")
    )
    again = messages.SubscribeResponse.FromString(ack.SerializeToString())
    assert again.WhichOneof("message") == "ack" and again.ack.e2ap_pdu == b"\x20\x08"


def test_sources_are_named_by_their_virtual_path() -> None:
    sources = dict(build.proto_sources(REPO / "proto"))
    assert sources["ricsdk/_proto/e2relay/v1/e2relay.proto"] == REPO / "proto/ricsdk/e2relay/v1/e2relay.proto"
    assert all(name.startswith("ricsdk/_proto/") and name.endswith(".proto") for name in sources)


def test_generate_writes_package_imports_and_cleans_stale_output(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools", reason="grpcio-tools is the build-time generator")
    target = tmp_path / "ricsdk" / "_proto"
    stale_dir = target / "gone" / "v1"
    stale_dir.mkdir(parents=True)
    (target / "gone" / "__init__.py").write_text(build.GENERATED_MARKER + "\n")
    (stale_dir / "__init__.py").write_text(build.GENERATED_MARKER + "\n")
    (stale_dir / "gone_pb2.py").write_text("")
    (target / "keep").mkdir()
    (target / "keep" / "notes.txt").write_text("not generated")

    written = build.generate(tmp_path, REPO / "proto")

    generated = target / "e2relay" / "v1"
    names = {p.relative_to(target).as_posix() for p in written}
    assert {
        "e2relay/__init__.py",
        "e2relay/v1/__init__.py",
        "e2relay/v1/e2relay_pb2.py",
        "e2relay/v1/e2relay_pb2.pyi",
        "e2relay/v1/e2relay_pb2_grpc.py",
    } <= names
    for virtual, _ in build.proto_sources(REPO / "proto"):
        stem = virtual.removeprefix("ricsdk/_proto/").removesuffix(".proto")
        assert {stem + suffix for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")} <= names
    assert all(n.endswith(("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "/__init__.py")) for n in names)
    grpc_source = (generated / "e2relay_pb2_grpc.py").read_text()
    assert "from ricsdk._proto.e2relay.v1 import e2relay_pb2 as" in grpc_source
    assert not (target / "gone").exists()
    assert (target / "keep" / "notes.txt").read_text() == "not generated"

    again = build.generate(tmp_path, REPO / "proto")
    assert sorted(again) == sorted(written)


def test_nothing_to_compile_touches_nothing(tmp_path: Path) -> None:
    existing = tmp_path / "ricsdk" / "_proto" / "x" / "x_pb2.py"
    existing.parent.mkdir(parents=True)
    existing.write_text("")
    with pytest.raises(build.ProtoBuildError, match=r"no \.proto files"):
        build.generate(tmp_path, tmp_path / "empty")
    assert existing.exists()


def test_protoc_diagnostics_are_reported(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools", reason="grpcio-tools is the build-time generator")
    broken = tmp_path / "proto" / "ricsdk" / "bad" / "v1" / "bad.proto"
    broken.parent.mkdir(parents=True)
    broken.write_text('syntax = "proto3";\nmessage Bad { int32 x = 1 }\n')
    with pytest.raises(build.ProtoBuildError, match=r"bad\.proto"):
        build.generate(tmp_path / "out", tmp_path / "proto")
