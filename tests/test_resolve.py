"""Model names resolve: local path > HF cache > offline package > hub, with actionable errors."""

from __future__ import annotations

import pytest

import models.resolve as resolve_module
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


class _Connection:
    def close(self):
        pass


def test_hub_id_is_passed_through_when_online(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(resolve_module, "_hub_probe", {})
    monkeypatch.setattr(resolve_module.socket, "create_connection", lambda *a, **k: _Connection())
    resolved = resolve("Qwen/Qwen3-VL-8B-Instruct")
    assert (resolved.source, resolved.ref) == ("hub", "Qwen/Qwen3-VL-8B-Instruct")


def test_unreachable_hub_fails_at_once_without_hub_offline(monkeypatch):
    """A laptop without network but without HF_HUB_OFFLINE: say so now, not after
    huggingface_hub's minute of retries."""
    monkeypatch.delenv("HF_HUB_OFFLINE")
    for var in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(resolve_module, "_hub_probe", {})
    tried = []

    def no_route(address, timeout):
        tried.append(address)
        raise OSError("Name or service not known")

    monkeypatch.setattr(resolve_module.socket, "create_connection", no_route)
    for _ in range(2):
        with pytest.raises(ModelNotFound, match="not available offline"):
            resolve("Qwen/Qwen3-VL-8B-Instruct")
    assert tried == [("huggingface.co", 443)]  # probed once, then remembered


def test_clip_tag_offline_fails_at_once_with_what_to_do(monkeypatch):
    from models.clip import load_clip

    with pytest.raises(ModelNotFound, match="VIDQA_CLIP_PRETRAINED"):
        load_clip("ViT-B-32", "laion2b_s34b_b79k", device="cpu")


def test_packaged_tokenizer_resolves_without_importing_its_package():
    from pathlib import Path

    resolved = resolve("Qwen/Qwen3-tokenizer")
    assert (Path(resolved.ref) / "tokenizer.json").is_file()
