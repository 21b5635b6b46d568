"""Every exception vidqa raises on purpose. Only the CLI/UI turn these into messages."""

from __future__ import annotations


class VidqaError(Exception):
    """Base class: the message is already a one-line, user-facing explanation."""


class MediaError(VidqaError):
    """A file could not be used as media. Message: '<path>: <problem>'."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ModelNotFound(VidqaError):
    """No weights could be resolved for a model name (hub, local path, offline package)."""


class MissingDependency(VidqaError):
    """An optional Python package or system tool is not installed."""


class VideoNotFound(VidqaError):
    """No video in the library matches an id, id prefix or title."""


class ConfigError(VidqaError):
    """An environment variable or option has a value vidqa does not understand."""


class BackendError(VidqaError):
    """A model backend (local or served) failed to produce output."""


class StoreUnavailable(VidqaError):
    """The vector store (a Chroma server) could not be reached or refused a request."""
