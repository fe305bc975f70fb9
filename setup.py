"""Build hook: generate ``ricsdk._proto`` from ``proto/`` whenever the package is built.

All metadata lives in pyproject.toml; this file declares the optional C extension and extends two setuptools
commands:

- ``ricsdk.features._kernel`` (``ricsdk/features/_kernel.c``): the feature store's small-batch path in C. It is
  ``optional``: without a C compiler the build goes on and the store uses its numpy path, with the same results.
  ``-ffp-contract=off`` keeps every multiply and add rounded on its own, as numpy does.
- ``ricsdk.e2._records`` (``ricsdk/e2/_records.c``): the run of octet-aligned INTEGER records in the E2SM-KPM
  measurement-record decoder, and the measurement data of a usual format-1 indication message, also
  ``optional``: ``ricsdk/e2/kpm.py`` reads them itself when it is missing.
- ``ricsdk.e2._e2ap`` (``ricsdk/e2/_e2ap.c``): RICindication and RICcontrolAcknowledge read in C, ``optional``:
  ``ricsdk/e2/e2ap.py`` decodes them itself when it is missing, and whenever the C reader declines a PDU. It
  also writes RICcontrolRequest / RICcontrolAcknowledge PDUs and the RC slice-quota entry list for plain fields.
- ``ricsdk.runtime._guard`` (``ricsdk/runtime/_guard.c``): ModelXApp's policy guard over one indication's
  slices, ``optional`` (``model_xapp.py`` runs its Python loop, the reference). ``-ffp-contract=off`` keeps
  the quota mapping's multiplications rounded as Python rounds them.

- ``build_py`` runs ``ricsdk/_proto/build.py`` (loaded by path, so the build needs only the standard library and
  grpcio-tools from ``[build-system] requires``). A regular build (wheel) writes the modules into the build
  directory, so they ship in the wheel without ever touching the source tree; an editable install (PEP 660,
  ``editable_mode``) writes them next to the sources, where the editable finder looks for them.
- ``sdist`` adds the ``.proto`` files, so a wheel built from the sdist can generate the same modules.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from setuptools import Extension, setup  # type: ignore[import-untyped]
from setuptools.command.build_py import build_py  # type: ignore[import-untyped]
from setuptools.command.sdist import sdist  # type: ignore[import-untyped]

HERE = Path(__file__).resolve().parent


def _load_generator() -> ModuleType:
    path = HERE / "ricsdk" / "_proto" / "build.py"
    spec = importlib.util.spec_from_file_location("_ricsdk_proto_build", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load the protobuf generator from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithProtos(build_py):  # type: ignore[misc]
    """``build_py`` that also generates the protobuf/gRPC modules."""

    def run(self) -> None:
        super().run()
        generator = _load_generator()
        out_dir = HERE if self.editable_mode else Path(self.build_lib)
        try:
            generator.generate(out_dir, HERE / "proto")
        except generator.ProtoBuildError as exc:
            raise RuntimeError(str(exc)) from exc


class SdistWithProtos(sdist):  # type: ignore[misc]
    """``sdist`` that ships ``proto/``."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        protos = [path.relative_to(HERE).as_posix() for path in sorted((HERE / "proto").rglob("*.proto"))]
        super().make_release_tree(base_dir, [*files, *(p for p in protos if p not in files)])


KERNEL = Extension(
    "ricsdk.features._kernel",
    sources=["ricsdk/features/_kernel.c"],
    extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"],
    optional=True,
)

RECORDS = Extension(
    "ricsdk.e2._records",
    sources=["ricsdk/e2/_records.c"],
    extra_compile_args=["-O2"],
    optional=True,
)

E2AP = Extension(
    "ricsdk.e2._e2ap",
    sources=["ricsdk/e2/_e2ap.c"],
    extra_compile_args=["-O2"],
    optional=True,
)

GUARD = Extension(
    "ricsdk.runtime._guard",
    sources=["ricsdk/runtime/_guard.c"],
    extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"],
    optional=True,
)

setup(ext_modules=[KERNEL, RECORDS, E2AP, GUARD], cmdclass={"build_py": BuildPyWithProtos, "sdist": SdistWithProtos})
