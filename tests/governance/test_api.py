"""The governance service on real ports: auth on REST and gRPC, registry, provenance, reports, OpenAPI."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rapps.governance.config import GovernanceConfig
from rapps.governance.server import GovernanceServer
from ricsdk.lineage import ModelRef, RcAction, Stream
from ricsdk.lineage.reporter import GrpcLineageClient, OutgoingBatch, ReporterError

from .conftest import SECOND, T0, Producer

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "xapps" / "slice_prb_allocator" / "model"
READER = "reader-token-0123456789"
WRITER = "writer-token-0123456789"
INGEST = "ingest-token-0123456789"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[GovernanceServer]:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"# name scopes token\nops read,write {WRITER}\naudit read {READER}\nxapp ingest {INGEST}\n")
    config = GovernanceConfig(
        database=str(tmp_path / "g.db"),
        grpc_listen=("127.0.0.1", 0),
        http_listen=("127.0.0.1", 0),
        tokens_file=tokens,
        report_rows=500,
    )
    srv = GovernanceServer(config)
    await srv.start()
    yield srv
    await srv.aclose()


def _http(srv: GovernanceServer, token: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{srv.http_port}", headers=headers, timeout=60)


def _manifest() -> tuple[dict[str, Any], bytes]:
    return json.loads((FLAGSHIP / "model.json").read_text()), (FLAGSHIP / "model.onnx").read_bytes()


async def test_rest_refuses_missing_wrong_and_underprivileged_tokens(server: GovernanceServer) -> None:
    async with _http(server, None) as anon, _http(server, "not-a-token-at-all") as wrong, _http(server, INGEST) as xapp:
        assert (await anon.get("/v1/health")).status_code == 200
        missing = await anon.get("/v1/chains")
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert (await wrong.get("/v1/chains")).status_code == 401
        assert (await xapp.get("/v1/chains")).status_code == 403
    async with _http(server, READER) as reader:
        assert (await reader.get("/v1/chains")).status_code == 200
        manifest, onnx = _manifest()
        body = {"manifest": manifest, "artifact_b64": base64.b64encode(onnx).decode()}
        assert (await reader.post("/v1/registry/models/slice-prb-allocator/versions", json=body)).status_code == 403


async def test_grpc_refuses_missing_and_wrong_tokens(server: GovernanceServer) -> None:
    batch = [OutgoingBatch(Stream.MAIN, tuple(Producer().many(3)))]
    for token, code in (
        (None, "UNAUTHENTICATED"),
        ("wrong-token-0123456789", "UNAUTHENTICATED"),
        (READER, "PERMISSION_DENIED"),
    ):
        client = GrpcLineageClient(f"127.0.0.1:{server.grpc_port}", token=token)
        try:
            with pytest.raises(ReporterError) as err:
                await client.ingest(batch)
            assert err.value.code == code
        finally:
            await client.aclose()
    assert server.ingestor is not None and server.ingestor.stats.stored == 0
    client = GrpcLineageClient(f"127.0.0.1:{server.grpc_port}", token=INGEST)
    try:
        result = await client.ingest(batch)
    finally:
        await client.aclose()
    assert result.contiguous == {"xapp-1": 2} and result.stored == 3


async def test_registry_upload_aliases_and_digest_pinned_pull(server: GovernanceServer) -> None:
    manifest, onnx = _manifest()
    digest = "sha256:" + hashlib.sha256(onnx).hexdigest()
    async with _http(server, WRITER) as ops:
        bad = dict(manifest, sha256="00" * 32)
        refused = await ops.post(
            "/v1/registry/models/slice-prb-allocator/versions",
            json={"manifest": bad, "artifact_b64": base64.b64encode(onnx).decode()},
        )
        assert refused.status_code == 422 and "digest" in refused.json()["detail"]
        made = await ops.post(
            "/v1/registry/models/slice-prb-allocator/versions",
            json={"manifest": manifest, "artifact_b64": base64.b64encode(onnx).decode()},
        )
        assert made.status_code == 201, made.text
        entry = made.json()
        assert entry["digest"] == digest and entry["training"]["seed"] == manifest["training"]["seed"]
        again = await ops.post(
            "/v1/registry/models/slice-prb-allocator/versions",
            json={"manifest": manifest, "artifact_b64": base64.b64encode(onnx).decode()},
        )
        assert again.status_code == 422  # versions are immutable
        assert (
            await ops.put("/v1/registry/models/slice-prb-allocator/aliases/champion", json={"version": "9"})
        ).status_code == 404
        moved = await ops.put(
            "/v1/registry/models/slice-prb-allocator/aliases/champion", json={"version": manifest["version"]}
        )
        assert moved.status_code == 200 and moved.json()["previous"] is None
        champion = await ops.get("/v1/registry/models/slice-prb-allocator/aliases/champion")
        assert champion.json()["version"] == manifest["version"] and champion.json()["aliases"] == ["champion"]
        url = f"/v1/registry/models/slice-prb-allocator/versions/{manifest['version']}/artifact"
        pulled = await ops.get(url, params={"digest": digest})
        assert pulled.content == onnx and pulled.headers["x-ricsdk-digest"] == digest
        assert (await ops.get(url, params={"digest": "sha256:" + "11" * 32})).status_code == 409
        assert (await ops.get(f"/v1/registry/artifacts/{digest}")).content == onnx
        history = await ops.get("/v1/registry/models/slice-prb-allocator/aliases")
        assert [e["alias"] for e in history.json()] == ["champion"]


async def test_provenance_and_report_on_the_flagship_model(server: GovernanceServer) -> None:
    manifest, onnx = _manifest()
    digest = "sha256:" + hashlib.sha256(onnx).hexdigest()
    model = ModelRef(manifest["name"], manifest["version"], digest)
    import numpy as np
    import onnxruntime

    session = onnxruntime.InferenceSession(onnx, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(3)
    rows = rng.uniform(0.0, 60.0, size=(300, manifest["n_features"])).astype(np.float32)
    outputs = session.run(None, {manifest["input_name"]: rows})[0]
    producer = Producer()
    payloads = [
        producer.make(
            ts=T0 + i * SECOND,
            slice_id=f"1-00000{i % 3}",
            model=model,
            features=tuple(float(v) for v in rows[i]),
            output=tuple(float(v) for v in outputs[i]),
            action=RcAction(5, int(min(100, max(0, round(float(outputs[i][0]))))), 0, True),
            policy_ids=("sla-embb",),
            cpu_ns=40_000,
        )
        for i in range(300)
    ]
    client = GrpcLineageClient(f"127.0.0.1:{server.grpc_port}", token=INGEST)
    try:
        await client.ingest([OutgoingBatch(Stream.MAIN, tuple(payloads))])
    finally:
        await client.aclose()
    feature = manifest["features"][3]["name"]
    async with _http(server, WRITER) as ops:
        await ops.post(
            f"/v1/registry/models/{manifest['name']}/versions",
            json={"manifest": manifest, "artifact_b64": base64.b64encode(onnx).decode()},
        )
        policy = {"slice_id": "1-000000", "kpis": [{"feature": feature, "max": 30.0}]}
        assert (await ops.put("/v1/policies/sla-embb", json=policy)).status_code == 200
        one = (await ops.get("/v1/decisions/xapp-1/4")).json()
        assert one["hash_verified"] and one["linked_to_previous"] and one["previous_sequence"] == 3
        assert one["registry"]["digest"] == digest and one["policies"][0]["policy_id"] == "sla-embb"
        assert len(one["features"]) == manifest["n_features"]
        report = (await ops.get(f"/v1/reports/models/{manifest['name']}/{manifest['version']}")).json()
        assert report["decisions"] == 300 and report["cpu_us_per_decision"] == 40.0
        assert report["energy_j_per_decision"] == pytest.approx(40e-6 * 12.0)
        assert len(report["explanation"]) == manifest["n_features"] and report["explanation_rows"] == 300
        assert report["explanation"][0]["output_change"] >= report["explanation"][-1]["output_change"]
        assert 0.0 <= report["robustness"]["stable_rate"] <= 1.0
        sla = {s["slice_id"]: s for s in report["sla"]}
        expected = float(np.mean(rows[0::3, 3] <= 30.0))
        assert sla["1-000000"]["compliance"] == pytest.approx(expected, abs=1e-4)
        assert any("max |output difference|" in note for note in report["notes"])
        page = await ops.get(f"/v1/reports/models/{manifest['name']}/{manifest['version']}/html")
        assert page.status_code == 200 and page.text.count("<svg") >= 3 and "<script" not in page.text
        openapi = (await ops.get("/openapi.json")).json()
        assert "/v1/slices/{slice_id}/governing" in openapi["paths"]
        governing = (await ops.get("/v1/slices/1-000001/governing", params={"at": "2027-01-15T08:01:00Z"})).json()
        assert governing["model"]["digest"] == digest


async def test_tls_on_both_listeners(tmp_path: Path) -> None:
    """A self-signed certificate (openssl): gRPC and REST speak TLS, a plaintext client gets nowhere."""
    import shutil
    import ssl
    import subprocess

    from rapps.governance.config import TlsConfig
    from ricsdk.lineage.reporter import ClientTls

    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    tokens = tmp_path / "tokens"
    tokens.write_text(f"xapp ingest {INGEST}\naudit read {READER}\n")
    srv = GovernanceServer(
        GovernanceConfig(
            database=str(tmp_path / "g.db"),
            grpc_listen=("127.0.0.1", 0),
            http_listen=("127.0.0.1", 0),
            tokens_file=tokens,
            tls=TlsConfig(cert, key),
        )
    )
    await srv.start()
    try:
        batch = [OutgoingBatch(Stream.MAIN, tuple(Producer().many(5)))]
        secure = GrpcLineageClient(
            f"127.0.0.1:{srv.grpc_port}", token=INGEST, tls=ClientTls(root_certificates=cert.read_bytes())
        )
        plain = GrpcLineageClient(f"127.0.0.1:{srv.grpc_port}", token=INGEST, timeout_s=3.0)
        try:
            assert (await secure.ingest(batch)).contiguous == {"xapp-1": 4}
            with pytest.raises(ReporterError):
                await plain.ingest(batch)
        finally:
            await secure.aclose()
            await plain.aclose()
        headers = {"Authorization": f"Bearer {READER}"}
        async with httpx.AsyncClient(
            base_url=f"https://127.0.0.1:{srv.http_port}", verify=ssl.create_default_context(cafile=str(cert))
        ) as https:
            chains = await https.get("/v1/chains", headers=headers)
            assert chains.status_code == 200 and chains.json()[0]["contiguous"] == 4
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{srv.http_port}") as http:
            with pytest.raises(httpx.HTTPError):
                await http.get("/v1/health")
    finally:
        await srv.aclose()
