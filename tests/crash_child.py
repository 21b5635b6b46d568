"""Run `vidqa ARGS...` and SIGKILL itself at a chosen point: the reliability suite's crasher.

    python tests/crash_child.py POINT [POINT...] -- ingest FILE --force ...

POINT is one of
  stage:NAME            when ingest reports stage NAME (probe, transcript, spans, frames, ...)
  pausestage:NAME       at that stage: touch $CRASH_DIR/paused, wait for $CRASH_DIR/go
  after:CLASS.METHOD    right after that method returns (CLASS: Catalog, Library, VectorStore)
  before:CLASS.METHOD   right before it runs
  pause:CLASS.METHOD    after it returns: touch $CRASH_DIR/paused, wait for $CRASH_DIR/go
  stopserver:CLASS.METHOD  after it returns: SIGKILL the process $CHROMA_PID (a Chroma server)
The point is reached through the real code path: nothing in vidqa knows it is being tested.
Embeddings come from tests/hash_embed.py (no model to load).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # hash_embed
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout

import hash_embed  # noqa: E402

WAIT_S = 120  # longest a paused child waits for its test


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _owner(name: str):
    from index.catalog import Catalog
    from index.library import Library
    from index.vectors import VectorStore

    return {"Catalog": Catalog, "Library": Library, "VectorStore": VectorStore}[name]


def _act(action: str) -> None:
    if action == "pause":
        folder = Path(os.environ["CRASH_DIR"])
        (folder / "paused").touch()
        deadline = time.monotonic() + WAIT_S
        while not (folder / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    elif action == "stopserver":
        os.kill(int(os.environ["CHROMA_PID"]), signal.SIGKILL)
    else:
        die()


def _wrap(action: str, target: str) -> None:
    cls_name, method = target.split(".")
    owner = _owner(cls_name)
    original = getattr(owner, method)

    def wrapped(*args, **kwargs):
        if action == "before":
            die()
        result = original(*args, **kwargs)
        _act(action)
        return result

    setattr(owner, method, wrapped)


def _at_stage(action: str, stage: str) -> None:
    import ingest.pipeline as pipeline

    original = pipeline.ingest_file

    def ingest_file(path, library, options, progress):
        def watch(p, name, done, total):
            if name == stage:
                _act("pause" if action == "pausestage" else "kill")
            progress(p, name, done, total)

        return original(path, library, options, watch)

    pipeline.ingest_file = ingest_file


def main(argv: list[str]) -> int:
    split = argv.index("--")
    hash_embed.install()
    for point in argv[:split]:
        action, target = point.split(":", 1)
        if action in ("stage", "pausestage"):
            _at_stage(action, target)
        else:
            _wrap(action, target)
    from ui.cli import app

    return app(argv[split + 1 :], prog_name="vidqa")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
