"""The library as a LangChain retriever, so it drops into any LangChain app.

from index.retriever import VidqaRetriever
docs = VidqaRetriever(k=5).invoke("where does she demo the API?")
docs[0].metadata  # {"video_id", "start", "end", "kind", "title", "path", "matched", ...}
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from index.library import TEXT_KINDS, Library
from index.records import Hit


def hit_document(hit: Hit, library: Library) -> Document:
    span = hit.span
    video = library.catalog.video(span.video_id)
    return Document(
        page_content=span.text,
        id=span.id,
        metadata={
            "video_id": span.video_id,
            "start": span.start,
            "end": span.end,
            "kind": span.kind,
            "source": span.source,
            "title": video.title if video else span.video_id,
            "path": video.path if video else None,
            "score": hit.score,
            "matched": hit.matched,
        },
    )


class VidqaRetriever(BaseRetriever):
    """Hybrid search over the vidqa library; one Document per span (metadata carries the times)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    library: Any = Field(default=None, description="an index.library.Library; default: settings()")
    k: int = 5
    video_id: str | None = None  # restrict to one video
    kinds: tuple[str, ...] = TEXT_KINDS

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        if self.library is None:
            self.library = Library()
        hits = self.library.search(query, k=self.k, video_id=self.video_id, kinds=self.kinds)
        return [hit_document(h, self.library) for h in hits]
