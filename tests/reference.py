"""The generic ASN.1 codec for E2SM-KPM v2/v3 and E2SM-RC: asn1tools (aligned PER) over ``tests/asn1/``.

It is the cross-check oracle of the codec tests (our bytes must decode to the same values with it, and its
bytes with ours) and the benchmark baseline: the generic path a Python user has today. Benchmarks import it
with the repository root on ``sys.path``::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.reference import rc
    rc().encode("E2SM-RC-ControlMessage", value)

asn1tools handles everything these modules use (IMPORTS across files, REAL, extension additions and
extension alternatives), so pycrate's compiler is not needed. Each specification is compiled once per
process, on first use.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import asn1tools

__all__ = ["ASN1_DIR", "kpm_v2", "kpm_v3", "rc"]

ASN1_DIR = Path(__file__).resolve().parent / "asn1"


def _compile(*names: str) -> Any:
    return asn1tools.compile_files([str(ASN1_DIR / n) for n in names], "per")


@cache
def kpm_v2() -> Any:
    """E2SM-KPM v2.0x with the common IEs (asn1tools compiled specification)."""
    return _compile("e2sm_common.asn", "e2sm_kpm_v2.asn")


@cache
def kpm_v3() -> Any:
    """E2SM-KPM v3.00 with the common IEs (asn1tools compiled specification)."""
    return _compile("e2sm_common.asn", "e2sm_kpm_v3.asn")


@cache
def rc() -> Any:
    """E2SM-RC with the common IEs (asn1tools compiled specification)."""
    return _compile("e2sm_common.asn", "e2sm_rc.asn")
