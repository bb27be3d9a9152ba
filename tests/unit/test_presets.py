"""Finding a generator's weights from a preset name or a local folder (no model loaded)."""

from __future__ import annotations

import pytest

from retrieval.errors import ModelLoadError
from retrieval.models.presets import display_name, gguf_weights, resolve_model_dir


def test_unknown_preset_and_empty_folder_are_clear_errors(tmp_path):
    with pytest.raises(ModelLoadError, match="unknown generator preset 'huge'"):
        resolve_model_dir("huge", tmp_path / "cache")
    with pytest.raises(ModelLoadError, match=r"neither config\.json nor a \.gguf"):
        resolve_model_dir(str(tmp_path), tmp_path / "cache")


def test_hugging_face_folder_is_used_as_is(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    assert resolve_model_dir(str(tmp_path), tmp_path / "cache") == (tmp_path, tmp_path.name)


def test_local_gguf_and_presets_name_their_cache_entries(tmp_path):
    (tmp_path / "b.gguf").write_bytes(b"")
    (tmp_path / "a.gguf").write_bytes(b"")
    weights = gguf_weights(str(tmp_path))
    assert weights is not None
    cache_name, model, source = weights
    assert (cache_name, model) == (f"local-{tmp_path.name}-a", "a")
    assert source(tmp_path / "work") == (tmp_path, "a.gguf")
    small = gguf_weights("small")
    assert small is not None and small[:2] == ("small", "Qwen2.5-Coder-0.5B-Instruct")
    assert display_name("tiny") == "SmolLM2-135M-Instruct"
    assert display_name(str(tmp_path)) == tmp_path.name
    assert gguf_weights(str(tmp_path / "missing")) is None


def test_unknown_weights_encoding_is_a_clear_error(tmp_path):
    from pydantic import ValidationError

    from retrieval.models.llamacpp_backend import encoded_gguf
    from service.settings import Settings

    with pytest.raises(ModelLoadError, match="unknown GGUF encoding"):
        encoded_gguf("tiny", tmp_path, "q2_xs")
    with pytest.raises(ValidationError):
        Settings(weights="q2_xs")


def test_weights_auto_is_the_presets_choice_and_a_setting_wins():
    from service.loading import core_config
    from service.settings import Settings

    assert core_config(Settings(preset="base")).weights == "original"
    assert core_config(Settings(preset="small")).weights == "bf16"
    assert core_config(Settings(preset="base", weights="bf16")).weights == "bf16"
    assert core_config(Settings(preset="/some/folder")).weights == "bf16"


def test_the_evidence_budget_is_a_setting_and_a_bad_one_is_refused():
    from pydantic import ValidationError

    from service.loading import core_config
    from service.settings import Settings

    assert core_config(Settings()).pipeline.evidence.budget_tokens == 480
    assert core_config(Settings(evidence_tokens=240)).pipeline.evidence.budget_tokens == 240
    with pytest.raises(ValidationError, match="evidence_tokens"):
        Settings(evidence_tokens=10)
