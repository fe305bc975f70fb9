"""The CLI against a governance process: models push/list/alias/pull, lineage query and verify, serve checks."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

from click.testing import CliRunner

from ricsdk.cli.governance import governance as governance_group
from ricsdk.cli.governance import models
from ricsdk.cli.lineage import lineage
from ricsdk.lineage import Stream
from ricsdk.lineage.reporter import GrpcLineageClient, OutgoingBatch

from .conftest import INGEST, READER, ROOT, SECOND, T0, WRITER, Governance, Producer

FLAGSHIP = ROOT / "xapps" / "slice_prb_allocator" / "model"


def test_models_push_list_alias_pull(governance: Governance, tmp_path: Path) -> None:
    runner = CliRunner()
    common = ["--governance", governance.url, "--token", WRITER]
    pushed = runner.invoke(models, ["push", str(FLAGSHIP / "model.json"), *common])
    assert pushed.exit_code == 0, pushed.output
    manifest = json.loads((FLAGSHIP / "model.json").read_text())
    digest = "sha256:" + hashlib.sha256((FLAGSHIP / "model.onnx").read_bytes()).hexdigest()
    assert pushed.output.split() == [manifest["name"], manifest["version"], digest]
    again = runner.invoke(models, ["push", str(FLAGSHIP / "model.json"), *common])
    assert again.exit_code == 1 and "immutable" in again.output
    aliased = runner.invoke(models, ["alias", manifest["name"], "champion", manifest["version"], *common])
    assert aliased.exit_code == 0 and "was unset" in aliased.output
    listed = runner.invoke(models, ["list", *common])
    assert listed.exit_code == 0 and "champion" in listed.output and digest in listed.output
    out = tmp_path / "pulled.onnx"
    pulled = runner.invoke(models, ["pull", manifest["name"], "--alias", "champion", "-o", str(out), *common])
    assert pulled.exit_code == 0, pulled.output
    assert out.read_bytes() == (FLAGSHIP / "model.onnx").read_bytes()
    assert json.loads((tmp_path / "pulled.onnx.json").read_text())["sha256"] == manifest["sha256"]
    pinned = runner.invoke(
        models,
        [
            "pull",
            manifest["name"],
            "--version",
            manifest["version"],
            "--digest",
            "sha256:" + "0" * 64,
            "-o",
            str(tmp_path / "x.onnx"),
            *common,
        ],
    )
    assert pinned.exit_code == 1 and not (tmp_path / "x.onnx").exists()
    refused = runner.invoke(models, ["list", "--governance", governance.url, "--token", "nope-nope-nope-nope"])
    assert refused.exit_code == 1 and "unknown bearer token" in refused.output


def test_lineage_query_answers_from_governance(governance: Governance) -> None:
    producer = Producer()
    payloads = producer.many(40, step_ns=SECOND)

    async def ship() -> None:
        client = GrpcLineageClient(governance.target, token=INGEST)
        try:
            await client.ingest([OutgoingBatch(Stream.MAIN, tuple(payloads))])
        finally:
            await client.aclose()

    asyncio.run(ship())
    runner = CliRunner()
    common = ["--governance", governance.url, "--token", READER]
    governing = runner.invoke(
        lineage, ["query", "governing", "--slice", "1-000001", "--at", str(T0 + 10 * SECOND), *common]
    )
    assert governing.exit_code == 0, governing.output
    answer = json.loads(governing.output)
    assert answer["model"]["version"] == "1.0.0" and answer["decision"]["sequence"] == 10
    decisions = runner.invoke(lineage, ["query", "decisions", "--slice", "1-000001", "--limit", "5", *common])
    assert len(json.loads(decisions.output)["items"]) == 5
    one = runner.invoke(lineage, ["query", "decision", "--instance", "xapp-1", "--sequence", "3", *common])
    assert json.loads(one.output)["hash_verified"] is True
    assert runner.invoke(lineage, ["query", "lifecycle", "--slice", "1-000001", *common]).exit_code == 0
    assert json.loads(runner.invoke(lineage, ["query", "stats", *common]).output)[0]["decisions"] == 40
    missing = runner.invoke(lineage, ["query", "governing", *common])
    assert missing.exit_code == 2
    verified = runner.invoke(lineage, ["verify", "--governance", governance.url, "--token", READER])
    assert verified.exit_code == 0 and "OK: xapp-1: 40 stored records" in verified.output


def test_serve_refuses_the_secure_profile_without_tokens(tmp_path: Path) -> None:
    result = CliRunner().invoke(governance_group, ["serve", "--database", str(tmp_path / "g.db")])
    assert result.exit_code == 2 and "token file" in result.output


def test_verify_needs_a_spool_or_governance() -> None:
    assert CliRunner().invoke(lineage, ["verify"]).exit_code == 2
