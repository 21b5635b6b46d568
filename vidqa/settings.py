"""Settings, read from the environment at call time (never cached in module globals).

Every on-disk location hangs off VIDQA_HOME so tests can point it at a tmp dir.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from vidqa.errors import ConfigError

# Search: multilingual-e5-small for every new library, English too: it ranks English better
# than MiniLM (bench/README.md: pstuts-dev hit@1 0.383 against 0.362, library-wide 0.247
# against 0.216) and reads every language vidqa transcribes, in one collection. A library
# from before keeps the MiniLM its catalog records (index/text_model.py).
DEFAULT_EMBED_MODEL = "intfloat/multilingual-e5-small"
# Judges English text whose vectors are not stored ("Not found", chapter topic shifts), in a
# library of any search model: both were tuned on its cosines.
ENGLISH_EMBED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Search's second re-scoring list (models/sparse_embed.py); VIDQA_SPARSE_MODEL=none turns it off.
DEFAULT_SPARSE_MODEL = "rasyosef/splade-tiny"
DEFAULT_CLIP_MODEL = "ViT-B-32"
DEFAULT_CLIP_PRETRAINED = "laion2b_s34b_b79k"
DEFAULT_VLM = "Qwen/Qwen3-VL-2B-Instruct"
DEFAULT_CONTEXT_TOKENS = 262_144  # tokens, Qwen3-VL's native window: the default VLM budget
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class Settings:
    home: Path
    chroma_url: str | None = None  # e.g. http://localhost:8000 for a Chroma server
    embed_model: str = DEFAULT_EMBED_MODEL
    embed_model_set: bool = False  # VIDQA_EMBED_MODEL given: no automatic multilingual switch
    sparse_model: str = DEFAULT_SPARSE_MODEL
    asr_model: str | None = None  # None: chosen by device (small on GPU, tiny.en on CPU)
    clip_model: str = DEFAULT_CLIP_MODEL
    clip_pretrained: str = DEFAULT_CLIP_PRETRAINED
    vlm: str = "auto"  # auto | none | preset | hf id | local path | openai:<url>[#model]
    device: str = "auto"
    raise_errors: bool = False
    openai_api_key: str | None = field(default=None, repr=False)  # for --vlm openai:<url>
    ray_address: str | None = None  # ingest on this Ray cluster (auto, ray://head:10001)
    allow_path_ingest: bool = False  # the app ingests server paths even when not on loopback
    cache_dir: Path | None = None  # VIDQA_CACHE_DIR; None: the platform's user cache folder

    def __post_init__(self):
        if self.device not in DEVICES:
            raise ConfigError(f"VIDQA_DEVICE={self.device!r}: expected one of {', '.join(DEVICES)}")

    @property
    def catalog_path(self) -> Path:
        return self.home / "catalog.sqlite"

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def thumbs_dir(self) -> Path:
        return self.home / "thumbs"

    @property
    def media_dir(self) -> Path:
        return self.home / "media"

    @property
    def sessions_dir(self) -> Path:
        return self.home / "sessions"

    @property
    def model_cache_dir(self) -> Path:
        """Models assembled from offline packages (shared by all libraries, not under home)."""
        if self.cache_dir is not None:
            return self.cache_dir / "models"
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("vidqa", appauthor=False)) / "models"


def _default_home() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("vidqa", appauthor=False))


def env_flag(name: str) -> bool:
    """A yes/no environment variable (unset: no); ConfigError for anything else."""
    value = os.environ.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name}={value!r}: expected 1/0, true/false, yes/no or on/off")


def settings() -> Settings:
    """The current settings, from VIDQA_* environment variables."""
    env = os.environ.get
    home = env("VIDQA_HOME")
    return Settings(
        home=Path(home).expanduser() if home else _default_home(),
        chroma_url=env("VIDQA_CHROMA_URL") or None,
        embed_model=env("VIDQA_EMBED_MODEL") or DEFAULT_EMBED_MODEL,
        embed_model_set=bool(env("VIDQA_EMBED_MODEL")),
        sparse_model=env("VIDQA_SPARSE_MODEL", DEFAULT_SPARSE_MODEL),
        asr_model=env("VIDQA_ASR_MODEL") or None,
        clip_model=env("VIDQA_CLIP_MODEL") or DEFAULT_CLIP_MODEL,
        clip_pretrained=env("VIDQA_CLIP_PRETRAINED") or DEFAULT_CLIP_PRETRAINED,
        vlm=env("VIDQA_VLM") or "auto",
        device=(env("VIDQA_DEVICE") or "auto").lower(),
        raise_errors=env_flag("VIDQA_RAISE_ERRORS"),
        openai_api_key=env("VIDQA_OPENAI_API_KEY") or env("OPENAI_API_KEY") or None,
        ray_address=env("VIDQA_RAY_ADDRESS") or None,
        allow_path_ingest=env_flag("VIDQA_ALLOW_PATH_INGEST"),
        cache_dir=Path(env("VIDQA_CACHE_DIR")).expanduser() if env("VIDQA_CACHE_DIR") else None,
    )
