"""Model names resolve: local path > HF cache > offline package > hub, with actionable errors."""

from __future__ import annotations

import pytest

from models.resolve import resolve
from vidqa.errors import ModelNotFound


def test_default_embedder_resolves_offline_to_its_package():
    resolved = resolve("sentence-transformers/all-MiniLM-L6-v2")
    assert resolved.source in ("offline-package", "cache") and resolved.is_local
    assert resolve("all-MiniLM-L6-v2").ref == resolved.ref  # the short alias


def test_whisper_size_resolves_to_the_packaged_ctranslate2_model():
    resolved = resolve("tiny.en", "whisper")
    assert resolved.is_local
    from pathlib import Path

    assert (Path(resolved.ref) / "model.bin").is_file()


def test_local_path_wins(tmp_path):
    assert resolve(str(tmp_path)).source == "path"
    with pytest.raises(ModelNotFound, match="no such model file or directory"):
        resolve(str(tmp_path / "missing"))


def test_unavailable_model_names_what_to_download(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFound) as err:
        resolve("small", "whisper")
    message = str(err.value)
    assert "huggingface-cli download Systran/faster-whisper-small" in message
    assert "\n" not in message


def test_hub_id_is_passed_through_when_online(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    resolved = resolve("Qwen/Qwen3-VL-8B-Instruct")
    assert (resolved.source, resolved.ref) == ("hub", "Qwen/Qwen3-VL-8B-Instruct")


def test_packaged_tokenizer_resolves_without_importing_its_package():
    from pathlib import Path

    resolved = resolve("Qwen/Qwen3-tokenizer")
    assert (Path(resolved.ref) / "tokenizer.json").is_file()
