"""What the CPU computes natively: bf16 is fast only with AMX or AVX512-BF16; elsewhere torch
emulates it and a bf16 model runs several times slower than the same model in float32
(docs/BENCHMARKS.md: the embedder ~5x, the transformers generator ~2-4x)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

FAST_BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})

TorchDtype = Literal["auto", "float32", "bfloat16"]


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo does not exist)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def native_dtype(flags: frozenset[str] | None = None) -> Literal["float32", "bfloat16"]:
    """bf16 where the CPU computes it natively (half the memory, faster), float32 elsewhere."""
    have = cpu_flags() if flags is None else flags
    return "bfloat16" if have & FAST_BF16_FLAGS else "float32"
