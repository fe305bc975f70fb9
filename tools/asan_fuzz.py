"""Memory-safety fuzzing of ricsdk's C extensions under AddressSanitizer and UndefinedBehaviorSanitizer.

``make asan-fuzz`` (or ``python tools/asan_fuzz.py [--iterations N] [--seed S]``) copies the ``ricsdk`` package to
a temporary directory, builds the four C extensions there with ``-fsanitize=address,undefined``, and runs this
driver again with libasan preloaded over that copy. The driver feeds every C entry point what the network and
careless callers can hand it: mutated (truncated, bit-flipped, length-octet-damaged, extended) and random E2AP
PDUs and E2SM-KPM messages built like the replay benchmark's trace, odd-typed and out-of-range encoder arguments,
and odd guard inputs. A sanitizer report aborts the run with a non-zero exit; the C functions' own answers (None,
a value, a typed exception) are all acceptable here: ``tests/`` checks that they equal the Python paths'.

Needs gcc and libasan (Debian: ``libasan8``, installed with gcc 12). Not part of ``make test``: it takes about a
minute per 100,000 iterations.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXTENSIONS = ("e2/_e2ap", "e2/_records", "runtime/_guard", "features/_kernel")
FLAGS = ("-shared", "-fPIC", "-O1", "-g", "-fsanitize=address,undefined", "-fno-omit-frame-pointer")


def _libasan() -> str:
    out = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True, check=True)
    path = out.stdout.strip()
    if not os.path.isabs(path):
        raise SystemExit("libasan.so not found (install gcc's AddressSanitizer runtime, e.g. libasan8)")
    return path


def _build(into: Path) -> None:
    pkg = into / "ricsdk"
    shutil.copytree(ROOT / "ricsdk", pkg, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    include = sysconfig.get_paths()["include"]
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    for ext in EXTENSIONS:
        src = pkg / f"{ext}.c"
        subprocess.run(["gcc", *FLAGS, f"-I{include}", str(src), "-o", str(pkg / f"{ext}{suffix}")], check=True)


def _mutate(rng: random.Random, raw: bytes) -> bytes:
    b = bytearray(raw)
    kind = rng.randrange(4)
    if kind == 0 and b:
        del b[rng.randrange(len(b)) :]
    elif kind == 1:
        for _ in range(rng.randrange(1, 6)):
            if b:
                b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif kind == 2 and b:
        b[rng.randrange(len(b))] = rng.choice([0, 0x7F, 0x80, 0xBF, 0xC0, 0xC4, 0xFF])
    else:
        b += rng.randbytes(rng.randrange(20))
    return bytes(b)


def _drive(iterations: int, seed: int) -> None:
    from benchmarks import bench_replay as br
    from ricsdk.e2 import _e2ap as c_e2ap  # type: ignore[attr-defined]
    from ricsdk.e2 import _records as c_records  # type: ignore[attr-defined]
    from ricsdk.e2 import e2ap, kpm
    from ricsdk.e2 import slice_quota as sq
    from ricsdk.e2.common import Snssai
    from ricsdk.errors import E2DecodeError
    from ricsdk.runtime import _guard as c_guard  # type: ignore[attr-defined]
    from ricsdk.runtime import model_xapp as mx
    from ricsdk.trace import records

    for module in (c_e2ap, c_records, c_guard):
        if not str(module.__file__).startswith(str(Path(sys.path[0]))):
            raise SystemExit(f"{module.__name__} is not the sanitized build: {module.__file__}")
    rng = random.Random(seed)
    trace = br.build_trace(br._manifest(2), 30)
    pdus = [r.payload for r in trace]
    messages = [e2ap.decode_e2ap(p).message for p in pdus if p[1] == 5]  # type: ignore[union-attr]
    rid = e2ap.RicRequestId(1, 2)
    pdus += [e2ap.encode_control_ack(rid, 3, rng.randbytes(rng.randrange(300))) for _ in range(20)]
    pdus += [
        e2ap.encode_control_request(rid, 3, b"h" * rng.randrange(200), b"m" * rng.randrange(20000), b"\x00\x01")
        for _ in range(20)
    ]
    codec = kpm.KpmCodec()
    enc = sq.SliceQuotaEncoder()
    odd: list[Any] = [0, 1, 65535, 65536, -1, True, 2**70, "x", None, 3.5]
    outputs_pool: list[Any] = [0.5, math.nan, math.inf, -math.inf, 1e300, -5.0, 100.0, 2**80, "a", None]
    for _ in range(iterations):
        pdu = _mutate(rng, rng.choice(pdus)) if rng.random() < 0.9 else rng.randbytes(rng.randrange(60))
        c_e2ap.indication(pdu)
        c_e2ap.control_ack(pdu)
        c_e2ap.find_ies(pdu, tuple(rng.sample([29, 5, 20, 15, 26, 99, 32], rng.randrange(5))))
        records.control_ids_of(pdu)
        with contextlib.suppress(E2DecodeError):
            e2ap.decode_e2ap(pdu)
        msg = _mutate(rng, rng.choice(messages))
        c_records.f1_records(msg, kpm.Missing.NO_VALUE)
        bits = len(msg) * 8
        with contextlib.suppress(ValueError):  # a position outside the data
            c_records.int_records(
                msg, rng.randrange(-2, bits + 3), rng.randrange(-2, bits + 3), rng.randrange(-1, 50), []
            )
        with contextlib.suppress(E2DecodeError):
            codec.decode_indication_message(msg)
        ids = [rng.choice(odd) for _ in range(3)]
        c_e2ap.control_request(
            *ids,
            rng.choice([b"h", bytearray(b"h"), b"x" * 17000, None]),
            rng.choice([b"m", b"", None, 7]),
            rng.choice([None, b"\x01", b"c" * 17000, 1]),
            rng.choice([-2, -1, 0, 1, 2, None, True]),
        )
        c_e2ap.control_ack_pdu(*ids, rng.choice([None, b"\x01", b"c" * 17000, 1]), rng.choice([None, b"o", 2]))
        quota_rows = [
            (
                rng.choice([Snssai.of(1), Snssai.of(2, 5), "x", None]),
                rng.choice([(10, 20, 5), (1, 2), (10.0, 20, 5), (300, 400, 0), [1, 2, 3], None, (True, 1, 0)]),
            )
            for _ in range(rng.randrange(70))
        ]
        plmn = rng.choice([b"\x00\xf1\x10", b"\x00", "abc"])
        c_e2ap.quota_entries(enc._head, plmn, quota_rows, Snssai, *enc._c_templates)
        n = rng.randrange(6)
        outputs = [[rng.choice(outputs_pool) for _ in range(rng.randrange(4))] for _ in range(n + rng.randrange(-1, 3))]
        states = [
            mx._SliceState(
                mx._SlicePolicy((), rng.choice([None, (10, 20), (1,), (2**70, 1), ("a", 1)])),  # type: ignore[arg-type]
                rng.choice([None, (1, 2, 3), (1, 2), (2**70, 0, 0), [1, 2, 3]]),  # type: ignore[arg-type]
            )
            for _ in range(n)
        ]
        k = len(outputs)
        c_guard.guard(
            outputs,
            [rng.choice([0, 1, 2**70, None]) for _ in range(k)],
            [rng.choice([True, False, 0, 1]) for _ in range(k)],
            [rng.choice([True, False]) for _ in range(k)],
            rng.randrange(2),
            states,
            [rng.choice([(0, 100, 0), (5, 50, 5), (1, 2), (2**70, 1, 1), None]) for _ in range(n)],
            rng.choice([True, False]),
            rng.choice([0.8, 1, 2**70, "x"]),
            0.25,
            rng.choice([0, 5.5]),
            rng.choice([10, 100, -1, 2**70]),
            mx._REASONS,
        )
    sys.stdout.write(f"asan-fuzz: {iterations} iterations, seed {seed}: no sanitizer report\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drive", type=Path, help=argparse.SUPPRESS)  # the sanitized copy to run over
    args = parser.parse_args()
    if args.drive is not None:
        sys.path[:0] = [str(args.drive), str(ROOT)]
        _drive(args.iterations, args.seed)
        return
    with tempfile.TemporaryDirectory(prefix="ricsdk-asan-") as tmp:
        _build(Path(tmp))
        env = dict(os.environ, LD_PRELOAD=_libasan(), ASAN_OPTIONS="detect_leaks=0:abort_on_error=1")
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        env["PYTHONMALLOC"] = "malloc"  # every object its own allocation, so reads past one are caught
        cmd = [sys.executable, __file__, "--drive", tmp, "--iterations", str(args.iterations), "--seed", str(args.seed)]
        raise SystemExit(subprocess.run(cmd, env=env, check=False).returncode)


if __name__ == "__main__":
    main()
