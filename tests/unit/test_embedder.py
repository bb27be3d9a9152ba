"""The embedder's precision follows the CPU: bf16 only where it is computed natively."""

from pathlib import Path

from retrieval.models.cpu import cpu_flags, native_dtype
from retrieval.models.embedder import Embedder, resolve_dtype

INTEL_AMX = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
AMD_AVX2 = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n"


def test_auto_takes_bf16_only_with_native_support(tmp_path: Path) -> None:
    intel, amd = tmp_path / "intel", tmp_path / "amd"
    intel.write_text(INTEL_AMX)
    amd.write_text(AMD_AVX2)
    assert resolve_dtype("auto", cpu_flags(intel)) == "bfloat16"
    assert resolve_dtype("auto", cpu_flags(amd)) == "float32"


def test_an_explicit_choice_is_kept_and_unknown_cpus_get_float32(tmp_path: Path) -> None:
    assert resolve_dtype("bfloat16", frozenset()) == "bfloat16"
    assert resolve_dtype("int8", frozenset({"amx_bf16"})) == "int8"
    assert cpu_flags(tmp_path / "missing") == frozenset()
    assert resolve_dtype("auto", cpu_flags(tmp_path / "missing")) == "float32"


def test_the_embedder_reports_the_precision_it_runs() -> None:
    assert Embedder().dtype in ("float32", "bfloat16")
    assert Embedder(dtype="float32").dtype == "float32"


def test_native_precision_is_bf16_only_with_the_flags_that_compute_it(tmp_path: Path) -> None:
    intel, amd = tmp_path / "intel", tmp_path / "amd"
    intel.write_text(INTEL_AMX)
    amd.write_text(AMD_AVX2)
    assert native_dtype(cpu_flags(intel)) == "bfloat16"
    assert native_dtype(cpu_flags(amd)) == "float32"
    assert native_dtype(frozenset({"avx512_bf16"})) == "bfloat16"
