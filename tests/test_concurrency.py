"""Two processes sharing one library: new vectors are seen, and nobody's writes are lost."""

from __future__ import annotations

import subprocess
import sys

from index.library import Library
from index.records import Span, Video

WRITE_IN_CHILD = (
    "from index.library import Library; from index.records import Video, Span;"
    "Library().add_video(Video(id='bbb', path=None, title='b', duration=10),"
    "[Span('bbb', 0, 5, 'transcript', 'glaciers carve valleys', 'srt')])"
)


def _add(library: Library, video_id: str, text: str) -> None:
    library.add_video(
        Video(id=video_id, path=None, title=video_id, duration=10),
        [Span(video_id, 0, 5, "transcript", text, "srt")],
    )


def test_a_long_lived_library_sees_and_keeps_another_processes_writes():
    mine = Library()
    _add(mine, "aaa", "volcanoes erupt lava")
    assert [h.span.video_id for h in mine.search("lava")][:1] == ["aaa"]
    subprocess.run([sys.executable, "-c", WRITE_IN_CHILD], check=True)
    # the other process's video is found by vector search, not only by keyword
    hits = mine.search("glaciers carve valleys", kinds=("transcript",))
    assert hits[0].span.video_id == "bbb" and "dense" in hits[0].matched
    _add(mine, "ccc", "jazz saxophone improvisation")  # writing after the other process...
    fresh = Library()
    for query, video_id in (("lava", "aaa"), ("glaciers", "bbb"), ("saxophone", "ccc")):
        top = fresh.search(query, kinds=("transcript",))[0]  # ...lost none of its vectors
        assert top.span.video_id == video_id and "dense" in top.matched
