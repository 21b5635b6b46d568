"""Chroma, behind a few calls: upsert, delete, query, count, ids.

Collections are named after the embedding model *and* its dimension
(``vidqa-text-all-MiniLM-L6-v2-384d``), so switching models starts a new
collection instead of mixing vectors. Vectors only: text lives in the catalog.
An embedded PersistentClient is not process-safe; for several processes point
VIDQA_CHROMA_URL at a Chroma server (``chroma run --path DIR``).

On a server each library keeps its collections in its own Chroma database,
``vidqa-<library id>`` (the id lives in the catalog), created on first use, so two
libraries on one server never touch each other's vectors. Every failure to talk to
the server becomes one `StoreUnavailable` error naming the URL.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

import numpy as np

from vidqa.errors import ConfigError, StoreUnavailable
from vidqa.settings import Settings

UPSERT_BATCH = 2000  # below chroma's max batch size on every backend
PAGE = 5000  # ids per page when listing a whole collection
COLLECTION_PREFIX = "vidqa-"  # every collection vidqa makes: vidqa-text-*, vidqa-frames-*


def _server(cfg: Settings) -> tuple[str, int, bool]:
    url = urlparse(cfg.chroma_url or "")
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(f"VIDQA_CHROMA_URL={cfg.chroma_url!r}: expected http(s)://host:port")
    return url.hostname, url.port or (443 if url.scheme == "https" else 8000), url.scheme == "https"


@contextmanager
def store_errors(url: str | None, *, connecting: bool = False) -> Iterator[None]:
    """On a Chroma server, turn transport and server errors into one StoreUnavailable line.

    Embedded Chroma errors pass through: they are bugs or races the caller handles
    (the app's LibraryReader retries them on a reopened client)."""
    if not url:
        yield
        return
    import httpx
    from chromadb.errors import ChromaError

    unreachable = (httpx.HTTPError, ValueError) if connecting else (httpx.HTTPError,)
    try:
        yield
    except unreachable as e:  # ValueError: HttpClient's "Could not connect to a Chroma server"
        port = urlparse(url).port or 8000
        raise StoreUnavailable(
            f"cannot reach the Chroma server at {url}: start it with "
            f"`chroma run --path DIR --port {port}` or unset VIDQA_CHROMA_URL"
        ) from e
    except ChromaError as e:
        message = " ".join(str(e).split()) or type(e).__name__
        raise StoreUnavailable(f"the Chroma server at {url} failed: {message}") from e


def _guarded(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with store_errors(self.url):
            return method(self, *args, **kwargs)

    return wrapper


def namespace(library_id: str) -> str:
    """The Chroma database that holds one library's collections on a shared server."""
    return f"{COLLECTION_PREFIX}{library_id}"


def _ensure_database(host: str, port: int, ssl: bool, name: str) -> None:
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from chromadb.errors import NotFoundError

    admin = chromadb.AdminClient(
        ChromaSettings(
            anonymized_telemetry=False,
            chroma_api_impl="chromadb.api.fastapi.FastAPI",
            chroma_server_host=host,
            chroma_server_http_port=port,
            chroma_server_ssl_enabled=ssl,
        )
    )
    try:
        admin.get_database(name)
    except NotFoundError:
        admin.create_database(name)


def make_client(cfg: Settings, library_id: str | None = None) -> Vectors:
    """The library's vector client: embedded under VIDQA_HOME, or its namespace on a server."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if cfg.chroma_url:
        host, port, ssl = _server(cfg)
        kwargs = {}
        with store_errors(cfg.chroma_url, connecting=True):
            if library_id:
                kwargs["database"] = namespace(library_id)
                _ensure_database(host, port, ssl, kwargs["database"])
            client = chromadb.HttpClient(
                host=host, port=port, ssl=ssl, settings=chroma_settings, **kwargs
            )
        return Vectors(client, cfg.chroma_url)
    cfg.chroma_path.mkdir(parents=True, exist_ok=True)
    return Vectors(chromadb.PersistentClient(path=str(cfg.chroma_path), settings=chroma_settings))


class Vectors:
    """A Chroma client and where it points; every call goes through `store_errors`."""

    def __init__(self, client, url: str | None = None):
        self.client, self.url = client, url

    def store(self, name: str) -> VectorStore:
        return VectorStore(self.client, name, self.url)

    @_guarded
    def names(self, prefix: str = COLLECTION_PREFIX) -> list[str]:
        return [c.name for c in self.client.list_collections() if c.name.startswith(prefix)]

    def stores(self, prefix: str = COLLECTION_PREFIX) -> list[VectorStore]:
        return [self.store(n) for n in self.names(prefix)]

    @_guarded
    def drop(self, name: str) -> None:
        """Delete a whole collection (one nothing reads any more)."""
        self.client.delete_collection(name)

    def close(self) -> None:
        self.client.close()


class VectorStore:
    def __init__(self, client, name: str, url: str | None = None):
        self.name, self.url = name, url
        with store_errors(url):
            self.collection = client.get_or_create_collection(
                name=name,
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,  # we always pass vectors; never let chroma fetch a model
            )

    @_guarded
    def upsert(self, ids: list[str], vectors: np.ndarray, metadatas: list[dict]) -> None:
        for i in range(0, len(ids), UPSERT_BATCH):
            self.collection.upsert(
                ids=ids[i : i + UPSERT_BATCH],
                embeddings=vectors[i : i + UPSERT_BATCH],
                metadatas=metadatas[i : i + UPSERT_BATCH],
            )

    @_guarded
    def delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), UPSERT_BATCH):
            self.collection.delete(ids=ids[i : i + UPSERT_BATCH])

    @_guarded
    def delete_video(self, video_id: str) -> None:
        self.collection.delete(where={"video_id": video_id})

    @_guarded
    def count(self) -> int:
        return self.collection.count()

    @_guarded
    def present(self, ids: list[str]) -> set[str]:
        """Which of `ids` have a vector here."""
        found: set[str] = set()
        for i in range(0, len(ids), UPSERT_BATCH):
            found.update(self.collection.get(ids=ids[i : i + UPSERT_BATCH], include=[])["ids"])
        return found

    @_guarded
    def ids(self) -> set[str]:
        """Every id in the collection (paged)."""
        out: set[str] = set()
        while True:
            page = self.collection.get(include=[], limit=PAGE, offset=len(out))["ids"]
            out.update(page)
            if len(page) < PAGE:
                return out

    @_guarded
    def query(
        self,
        vector: np.ndarray,
        *,
        n: int,
        video_id: str | None = None,
        kinds: tuple[str, ...] | None = None,
    ) -> list[tuple[str, float]]:
        """(span id, cosine similarity) best first; fewer than `n` when fewer match.

        No count() first to clamp `n`: Chroma 1.x returns what there is (none from an empty
        collection), and counting cost 11 ms a query at 100 h, a tenth of a search."""
        clauses = []
        if video_id:
            clauses.append({"video_id": video_id})
        if kinds:
            clauses.append({"kind": {"$in": list(kinds)}})
        where = clauses[0] if len(clauses) == 1 else ({"$and": clauses} if clauses else None)
        result = self.collection.query(
            query_embeddings=[vector],
            n_results=n,
            where=where,
            include=["distances"],
        )
        return [(i, 1.0 - d) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]
