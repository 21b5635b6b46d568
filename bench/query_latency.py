"""Query latency p50/p95 of `search` and `ask` over ~100 h of transcript spans.

    .venv/bin/python bench/query_latency.py [--small] [--hours 100] [--queries 200]

Load: synthetic lectures (15 min each, 15 s spans of topical word draws with
word timings, as ASR spans carry them) inserted through `Library.add_video`, so
the catalog, BM25 and Chroma hold what a real ingest writes. The library is built
once per size under $VIDQA_BENCH_DIR and reused (the build time is printed).
Baseline, measured in the same run: the retrieval a user could write by hand --
embed the query with the library's own model, numpy dot product over every span vector
(fetched once from Chroma), top-10 by argpartition. Also: a time lookup through
Chroma's metadata `where` filter against our SQLite catalog (`spans_between`).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # sibling bench helpers
from asr_rtf import bench_dir, loadavg, setup_paths  # noqa: E402

DEFAULT_HOURS = 100.0  # library size (hours of transcript)
SMALL_HOURS = 10.0
VIDEO_MINUTES = 15.0  # per synthetic video (min)
SPAN_S = 15.0  # per span (s), ingest/spans.py TARGET_S
WORDS_PER_SPAN = 38  # 150 words/min of speech for 15 s
DEFAULT_QUERIES = 200  # per query kind
K = 10  # results per search
POINT_CONTEXT_S = 5.0  # qa/retrieve.py: a point question looks 5 s either side
LAYOUT_VERSION = 4  # bump when the generated text or span layout changes: rebuilds the cache
# (3: sentence vectors stored at ingest, index/sentence_vectors.py; 4: and SPLADE's rows)
SEED = 7

# Topic vocabularies: a video draws mostly from one topic, so dense and BM25 both
# have something to separate; Zipf weights give each topic common and rare terms.
TOPICS = {
    "biology": "cell protein enzyme membrane mitochondria nucleus gene chromosome mutation "
    "bacteria virus photosynthesis chlorophyll glucose respiration organism species "
    "evolution selection ecosystem predator tissue neuron hormone antibody ribosome",
    "history": "empire revolution monarchy treaty parliament dynasty colony rebellion siege "
    "crusade medieval renaissance republic senate emperor pharaoh conquest "
    "independence constitution feudal reformation armistice barbarian citadel",
    "computing": "algorithm compiler recursion pointer array database query index cache thread "
    "kernel network packet protocol encryption hash binary tree graph sorting "
    "gradient tensor backpropagation transformer embedding",
    "geology": "volcano magma lava crust mantle tectonic plate earthquake fault glacier erosion "
    "sediment fossil mineral quartz granite basalt canyon delta aquifer stratum "
    "continental subduction geyser moraine",
    "music": "melody harmony chord rhythm tempo symphony orchestra violin piano saxophone jazz "
    "blues ragtime improvisation scale octave cadence sonata concerto composer "
    "syncopation counterpoint timbre crescendo",
    "finance": "interest inflation dividend equity bond portfolio deduction taxable income "
    "mortgage liability asset depreciation revenue margin ledger audit capital "
    "liquidity derivative hedge annuity amortization",
    "cooking": "dough yeast flour butter simmer braise saute roast marinade caramelize emulsion "
    "whisk knead ferment broth stock garlic saffron oregano vinaigrette custard "
    "souffle risotto gelatin",
    "astronomy": "planet orbit galaxy nebula supernova telescope comet asteroid gravity "
    "redshift quasar pulsar eclipse satellite jupiter saturn cosmos spectrum "
    "luminosity exoplanet parallax constellation meteor",
}
GENERAL = (
    "important example process system result problem method structure change energy "
    "model pattern source effect period level material theory evidence figure "
    "question answer reason simple complex early large small first second final"
).split()
FUNCTION = "the a of and to in is that it for on with as this by from at which we you".split()
QUERY_TEMPLATES = (
    "{a} {b}",
    "how does {a} relate to {b}",
    "{a} and {b} {c}",
    "what is {a}",
    "explain the {a} of {b}",
)


def topic_words() -> dict[str, list[str]]:
    return {name: words.split() for name, words in TOPICS.items()}


def zipf_weights(n: int) -> list[float]:
    return [1.0 / (rank + 1) for rank in range(n)]


# --- the synthetic library ------------------------------------------------------


class TextMaker:
    """Seeded word draws: function words, the video's topic, a side topic, general terms."""

    MIX = (("function", 0.45), ("main", 0.38), ("side", 0.08), ("general", 0.09))

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.topics = topic_words()

    def _draw(self, pool: str, main: str, side: str) -> str:
        if pool == "function":
            return self.rng.choice(FUNCTION)
        if pool == "general":
            return self.rng.choice(GENERAL)
        words = self.topics[main if pool == "main" else side]
        return self.rng.choices(words, weights=zipf_weights(len(words)))[0]

    def words(self, n: int, main: str, side: str) -> list[str]:
        pools = self.rng.choices([p for p, _ in self.MIX], weights=[w for _, w in self.MIX], k=n)
        out = [self._draw(pool, main, side) for pool in pools]
        for i in range(self.rng.randint(6, 14), n, self.rng.randint(8, 16)):
            out[i] += "."  # sentence ends: focus_span and span text rely on them
        out[-1] = out[-1].rstrip(".") + "."
        return out

    def query(self, topic: str | None = None) -> str:
        words = self.topics[topic or self.rng.choice(list(self.topics))]
        a, b, c = self.rng.sample(words, 3)
        return self.rng.choice(QUERY_TEMPLATES).format(a=a, b=b, c=c)


def video_id(n: int) -> str:
    return hashlib.blake2b(f"bench-video-{n}".encode(), digest_size=8).hexdigest()


def synthetic_video(n: int, maker: TextMaker, minutes: float):
    """A Video and its ~15 s transcript spans, words timed evenly inside each span."""
    from index.records import Span, Video

    names = list(maker.topics)
    main, side = names[n % len(names)], maker.rng.choice(names)
    vid = video_id(n)
    duration = minutes * 60
    video = Video(
        id=vid,
        path=None,
        title=f"Synthetic {main} lecture {n:04d}",
        duration=duration,
        has_audio=True,
        transcript_source="asr:synthetic",
        language="en",
        models={"transcript": "asr:synthetic"},
    )
    spans, start = [], 0.0
    while start < duration:
        end = min(start + SPAN_S, duration)
        words = maker.words(WORDS_PER_SPAN, main, side)
        step = (end - start) / len(words)
        timed = [
            [round(start + i * step, 2), round(start + (i + 1) * step, 2), w]
            for i, w in enumerate(words)
        ]
        spans.append(
            Span(
                video_id=vid,
                start=start,
                end=end,
                kind="transcript",
                text=" ".join(words),
                source="asr:synthetic",
                extra={"words": timed},
            )
        )
        start = end
    return video, spans


def library_dir(hours: float) -> Path:
    return (
        bench_dir()
        / f"library-{hours:g}h-{VIDEO_MINUTES:g}m-{SPAN_S:g}s-seed{SEED}-v{LAYOUT_VERSION}"
    )


def build_library(home: Path, hours: float) -> dict:
    """Insert the synthetic videos one by one, as ingest would; meta.json marks it complete.

    An interrupted build resumes: each video is one atomic write, so the videos already
    ready are kept (their text is drawn again, unchanged, to keep the seeded draws aligned)."""
    from index.library import Library

    os.environ["VIDQA_HOME"] = str(home)
    library = Library()
    done = {v.id for v in library.videos()}
    maker = TextMaker(SEED)
    n_videos = max(1, round(hours * 60 / VIDEO_MINUTES))
    started, spans_total = time.perf_counter(), 0
    for n in range(n_videos):
        video, spans = synthetic_video(n, maker, VIDEO_MINUTES)
        if video.id in done:
            spans_total += sum(library.catalog.counts(video.id).values())
            continue
        spans_total += len(library.add_video(video, spans))
        if (n + 1) % 20 == 0 or n + 1 == n_videos:
            elapsed = time.perf_counter() - started
            eta = elapsed / (n + 1 - len(done)) * (n_videos - n - 1)
            print(
                f"  built {n + 1}/{n_videos} videos, {spans_total} spans, {elapsed:.0f} s "
                f"(about {eta:.0f} s left)",
                file=sys.stderr,
                flush=True,
            )
    sentences = library.catalog.db.execute("SELECT COUNT(*) FROM sentence_vectors").fetchone()[0]
    library.close()
    meta = {
        "videos": n_videos,
        "spans": spans_total,  # transcript spans and windows
        "sentence_vectors": sentences,
        "hours": hours,
        "build_s": round(time.perf_counter() - started, 1),
        "resumed_with": len(done),  # videos an earlier, interrupted build had written
        "loadavg": loadavg(),
    }
    (home / "meta.json").write_text(json.dumps(meta))
    return meta


def open_library(hours: float, rebuild: bool) -> tuple[object, dict, bool]:
    """(Library, build meta, built now?) -- from the cache unless missing or `rebuild`."""
    from index.library import Library

    home = library_dir(hours)
    built = rebuild or not (home / "meta.json").exists()
    if built:
        print(f"building the library in {home} (cached for later runs)", file=sys.stderr)
        build_library(home, hours)
    os.environ["VIDQA_HOME"] = str(home)
    return Library(), json.loads((home / "meta.json").read_text()), built


# --- timing -----------------------------------------------------------------------


def timed_ms(jobs: dict[str, tuple[Callable, list]], warmup: int = 3) -> tuple[dict, dict]:
    """Per-call wall ms of each job's fn(*args), round-robin across jobs.

    Interleaving (query i of every row, then query i+1) spreads a neighbour's CPU
    bursts over all rows alike; sequential rows would hand one row all the noise.
    """
    for fn, inputs in jobs.values():
        for args in inputs[:warmup]:
            fn(*args)
    times = {key: [] for key in jobs}
    outputs = {key: [] for key in jobs}
    for i in range(max(len(inputs) for _, inputs in jobs.values())):
        for key, (fn, inputs) in jobs.items():
            if i < len(inputs):
                started = time.perf_counter()
                outputs[key].append(fn(*inputs[i]))
                times[key].append((time.perf_counter() - started) * 1000)
    return times, outputs


def span_matrix(library) -> tuple[list[str], np.ndarray]:
    """Every span vector, fetched once from Chroma: what a hand-written baseline would hold."""
    collection = library.text_vectors.collection
    ids, blocks, page = [], [], 5000
    for offset in range(0, collection.count(), page):
        got = collection.get(include=["embeddings"], limit=page, offset=offset)
        ids += got["ids"]
        blocks.append(np.asarray(got["embeddings"], dtype=np.float32))
    return ids, np.vstack(blocks)


def numpy_top_k(matrix: np.ndarray, vector: np.ndarray, k: int = K) -> np.ndarray:
    with one_blas_thread():
        scores = matrix @ vector  # vectors are unit length: dot product = cosine
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top])]


def one_blas_thread():
    """numpy's BLAS on one thread, for the baseline's product over every span vector.

    With two, OpenBLAS's second thread keeps spinning after the call and takes a core from
    the next row's torch (measured at 100 h: a search right after it 107 / 161 ms p50 / p95
    against 76 / 96). The product over 48k vectors is memory-bound: 8.1 ms on two threads,
    8.7 on one. vidqa's own numpy products are small (tens of vectors), so this is the
    bench's doing, not a cost a user meets."""
    return _blas().limit(limits=1, user_api="blas")


@functools.cache
def _blas():
    from threadpoolctl import ThreadpoolController  # with scikit-learn (sentence-transformers)

    return ThreadpoolController()


def workload(meta: dict, n: int) -> dict[str, list[tuple]]:
    """Seeded query inputs per kind; topical ones carry their topic for a relevance check."""
    maker = TextMaker(SEED + 1)
    names = list(maker.topics)
    rng = maker.rng
    videos = [(video_id(i), names[i % len(names)]) for i in range(meta["videos"])]
    topics = [rng.choice(names) for _ in range(n)]
    scoped = [rng.choice(videos) for _ in range(n)]
    return {
        "video_topics": dict(videos),
        "topical": [(maker.query(t), t) for t in topics],
        "scoped": [(maker.query(topic), vid) for vid, topic in scoped],
        "times": [(rng.choice(videos)[0], rng.uniform(0, VIDEO_MINUTES * 60)) for _ in range(n)],
    }


def topic_of(span_or_id: str, topics: dict[str, str]) -> str:
    return topics[span_or_id.split("/", 1)[0]]  # span ids are "<video_id>/<kind>/<n>"


def measure_retrieval(library, work: dict, ids: list[str], matrix: np.ndarray) -> dict:
    """Latency rows (ms lists) plus top-1 topic agreement for the library-wide searches."""
    from index.moments import SearchOptions
    from qa.answer import ask

    pooled = SearchOptions(sentence_pool=0)  # the price of re-scoring sentences, by difference
    no_sparse = SearchOptions(sparse=False)  # ... and of SPLADE's list alone
    embedder = library.embedder
    topical = [(q,) for q, _ in work["topical"]]
    vectors = embedder.embed([q for q, _ in work["topical"]])
    questions = [
        (f"what was said at {int(t // 60)}:{int(t % 60):02d}?", v) for v, t in work["times"]
    ]
    rows, out = timed_ms(
        {
            "baseline": (lambda q: numpy_top_k(matrix, embedder.embed([q])[0]), topical),
            "numpy_dot_only": (lambda v: numpy_top_k(matrix, v), [(v,) for v in vectors]),
            "search_library": (lambda q: library.search(q, k=K), topical),
            "search_library_cold": (lambda q: cold_search(library, q), topical),
            "search_library_embedding": (lambda q: embedding_search(library, q), topical),
            "search_library_no_sentences": (
                lambda q: library.search(q, k=K, options=pooled),
                topical,
            ),
            "search_library_no_sparse": (
                lambda q: library.search(q, k=K, options=no_sparse),
                topical,
            ),
            "search_one_video": (lambda q, v: library.search(q, k=K, video_id=v), work["scoped"]),
            "ask_time_anchored": (lambda q, v: ask(q, library=library, video=v), questions),
            "ask_topical": (lambda q: ask(q, library=library), topical),
        }
    )
    same = [
        [(h.span.id, h.span.start, h.score) for h in a]
        == [(h.span.id, h.span.start, h.score) for h in b]
        for a, b in zip(out["search_library"], out["search_library_embedding"], strict=True)
    ]
    return {
        "rows": rows,
        "top1": top1_agreement(work, ids, out),
        "same_as_embedding": sum(same) / len(same),
    }


def cold_search(library, query: str):
    """A library-wide search with nothing kept in memory from earlier queries: the re-scored
    sentences' vectors are read from the catalog (stored at ingest)."""
    library.__dict__.pop("sentence_vectors", None)  # a cached_property: rebuilt empty on use
    library.__dict__.pop("sparse_vectors", None)  # SPLADE's rows too
    return library.search(query, k=K)


class _EmbedPerQuery:
    """Re-scoring as before sentence vectors were stored: embed every candidate per query."""

    def __init__(self, embed):
        self.embed = embed

    def vectors(self, items):
        return self.embed([text for _, text in items])


def embedding_search(library, query: str):
    """A library-wide search that embeds its 40+ re-scored texts (the previous product,
    and what a library ingested before sentence vectors were stored does until repaired)."""
    stored = library.__dict__.get("sentence_vectors")
    library.__dict__["sentence_vectors"] = _EmbedPerQuery(library.embedder.embed)
    try:
        return library.search(query, k=K)
    finally:
        library.__dict__.pop("sentence_vectors")
        if stored is not None:
            library.__dict__["sentence_vectors"] = stored


def measure_search_parts(library, work: dict) -> dict:
    """The pieces of `Library.search`, timed alone, to show where its time goes.

    Dense rows call `VectorStore.query` three ways: library-wide with no filter (what
    search does), with a kind `$in` filter, and with the one-video filter that a
    scoped search sends; Chroma's `where` filters scan, which these rows price.
    """
    from index.library import CANDIDATES, TEXT_KINDS
    from index.sentence_vectors import SentenceStore

    store, catalog = library.text_vectors, library.catalog
    queries = [q for q, _ in work["topical"]]
    vectors = [(v,) for v in library.embedder.embed(queries)]
    scoped = [(v, vid) for (v,), (_, vid) in zip(vectors, work["scoped"], strict=True)]
    dense_ids = [([i for i, _ in store.query(v, n=CANDIDATES)],) for (v,) in vectors]
    sentences = SentenceStore(catalog.db)
    pools, span_pools = stored_pools(library, len(queries))

    def fetch(items):
        return sentences.get(library.embedder.slug, items)

    def chroma_get(ids):
        return store.collection.get(ids=ids, include=["embeddings"])["embeddings"]

    rows, _ = timed_ms(
        {
            "part_embed": (lambda q: library.embedder.embed([q]), [(q,) for q in queries]),
            "part_dense": (lambda v: store.query(v, n=CANDIDATES * 2), vectors),
            "part_dense_kinds": (lambda v: store.query(v, n=CANDIDATES, kinds=TEXT_KINDS), vectors),
            "part_dense_video": (lambda v, vid: store.query(v, n=CANDIDATES, video_id=vid), scoped),
            "part_bm25": (
                lambda q: catalog.keyword_search(q, limit=CANDIDATES, kinds=TEXT_KINDS),
                [(q,) for q in queries],
            ),
            "part_join": (lambda ids: catalog.spans_by_id(ids), dense_ids),
            "part_sentences": (lambda texts: library.embedder.embed(texts), sentence_pools(work)),
            "part_sentence_fetch": (lambda items: fetch(items), pools),
            "part_chroma_get": (lambda ids: chroma_get(ids), span_pools),
        }
    )
    return rows


def sentence_pools(work: dict) -> list[tuple[list[str]]]:
    """SENTENCE_POOL sentences of ~12 words per query: what search re-scores by similarity."""
    from index.moments import SENTENCE_POOL

    maker = TextMaker(SEED + 2)
    return [
        ([" ".join(maker.words(12, topic, topic)) for _ in range(SENTENCE_POOL)],)
        for _, topic in work["topical"]
    ]


def stored_pools(library, n: int) -> tuple[list[tuple], list[tuple]]:
    """Per query, SENTENCE_POOL stored (video, sentence) items and as many span ids, drawn
    from 10 random videos: what one search reads back, by sentence or by span id."""
    from index.moments import SENTENCE_POOL
    from index.sentence_vectors import rescored_texts

    rng = random.Random(SEED + 3)
    videos = [v.id for v in library.videos()]
    items, ids = [], []
    for _ in range(n):
        spans = [s for v in rng.sample(videos, min(10, len(videos))) for s in library.spans(v)]
        picked = rng.sample(spans, min(SENTENCE_POOL, len(spans)))
        items.append(([rescored_texts([s])[0] for s in picked],))
        ids.append(([s.id for s in picked],))
    return items, ids


def top1_agreement(work: dict, ids: list[str], out: dict) -> dict[str, float]:
    """Share of queries whose first result comes from a video of the queried topic:
    a guard that the load is non-trivial and both sides really retrieve."""
    topics = work["video_topics"]
    wanted = [t for _, t in work["topical"]]
    ours = [
        bool(h) and topic_of(h[0].span.id, topics) == t
        for h, t in zip(out["search_library"], wanted, strict=True)
    ]
    base = [
        topic_of(ids[top[0]], topics) == t for top, t in zip(out["baseline"], wanted, strict=True)
    ]
    return {"search": sum(ours) / len(ours), "baseline": sum(base) / len(base)}


def measure_time_lookup(library, work: dict) -> dict:
    """The same [t-5 s, t+5 s] lookup through Chroma's `where` and through the SQLite catalog."""
    collection = library.text_vectors.collection

    def chroma(vid: str, t: float) -> set[str]:
        where = {
            "$and": [
                {"video_id": vid},
                {"kind": "transcript"},
                {"start": {"$lte": t + POINT_CONTEXT_S}},
                {"end": {"$gte": t - POINT_CONTEXT_S}},
            ]
        }
        return set(collection.get(where=where, include=["metadatas"])["ids"])

    def catalog(vid: str, t: float) -> set[str]:
        return {s.id for s in library.spans_between(vid, t - POINT_CONTEXT_S, t + POINT_CONTEXT_S)}

    rows, out = timed_ms(
        {
            "time_chroma_where": (chroma, work["times"]),
            "time_sqlite_catalog": (catalog, work["times"]),
        }
    )
    same = [
        x == y for x, y in zip(out["time_chroma_where"], out["time_sqlite_catalog"], strict=True)
    ]
    return {"rows": rows, "agree": sum(same) / len(same)}


# --- report -----------------------------------------------------------------------

LABELS = {
    "baseline": "numpy brute force: embed + dot + top-10 (baseline)",
    "numpy_dot_only": "numpy brute force: dot + top-10, query pre-embedded",
    "search_library": "search, library-wide (hybrid, sentence re-scoring)",
    "search_library_cold": "search, library-wide, nothing cached in memory",
    "search_library_embedding": "search, library-wide, sentences embedded per query (before)",
    "search_library_no_sentences": "search, library-wide, no sentence re-scoring",
    "search_library_no_sparse": "search, library-wide, no SPLADE re-scoring",
    "search_one_video": "search, one video (--video)",
    "ask_time_anchored": "ask 'what was said at MM:SS?' --video",
    "ask_topical": "ask, topical, library-wide",
    "time_chroma_where": "time lookup: chroma get(where=video, start, end)",
    "time_sqlite_catalog": "time lookup: SQLite catalog spans_between",
    "part_embed": "  embed the query (the library's text model)",
    "part_dense": "  chroma top-100, no filter (library-wide search)",
    "part_dense_kinds": "  chroma top-50, where kind $in (...) (not used)",
    "part_dense_video": "  chroma top-50, where video_id (search --video)",
    "part_bm25": "  BM25 top-50 (SQLite FTS5)",
    "part_join": "  catalog join of 50 dense ids (spans_by_id)",
    "part_sentences": "  embed 40 candidate sentences (re-scoring, before)",
    "part_sentence_fetch": "  read 40 stored sentence vectors (catalog, SQLite)",
    "part_chroma_get": "  the same from chroma get(ids, embeddings) (not used)",
}
PARTS = [k for k in LABELS if k.startswith("part_")]


def torch_threads(wanted: int | None) -> int:
    """Set (when asked) and return torch's intra-op threads: a one-query embedding on a busy
    2-core box can stall for hundreds of ms at 2 threads and not at 1, so it is a knob here."""
    import torch

    if wanted is not None:
        torch.set_num_threads(wanted)
    return torch.get_num_threads()


def percentiles(times: list[float]) -> dict[str, float]:
    p50, p95 = np.percentile(times, [50, 95])
    return {
        "p50_ms": round(float(p50), 2),
        "p95_ms": round(float(p95), 2),
        "mean_ms": round(statistics.fmean(times), 2),
    }


def report(meta: dict, built: bool, retrieval: dict, lookup: dict, n: int) -> dict:
    rows = {**retrieval["rows"], **lookup["rows"], **retrieval["parts"]}
    stats = {k: percentiles(v) for k, v in rows.items()}
    base = stats["baseline"]["p50_ms"]
    print(
        f"library: {meta['videos']} videos x {VIDEO_MINUTES:g} min = {meta['hours']:g} h, "
        f"{meta['spans']} spans and windows, {meta.get('sentence_vectors', 0)} sentence vectors; "
        f"build {meta['build_s']:.0f} s ({'this run' if built else 'cached'}"
        f"{', resumed' if meta.get('resumed_with') else ''}); "
        f"{n} queries per row; torch threads {torch_threads(None)}; load average {loadavg()}"
    )
    print(f"{'':56} {'p50 ms':>8} {'p95 ms':>8} {'p50 / baseline p50':>19}")
    for key in (
        "baseline",
        "numpy_dot_only",
        "search_library",
        "search_library_cold",
        "search_library_embedding",
        "search_library_no_sentences",
        "search_library_no_sparse",
        "search_one_video",
        "ask_time_anchored",
        "ask_topical",
    ):
        s = stats[key]
        print(f"{LABELS[key]:56} {s['p50_ms']:8.1f} {s['p95_ms']:8.1f} {s['p50_ms'] / base:18.3g}x")
    print("where library-wide search time goes:")
    for key in PARTS:
        s = stats[key]
        print(f"{LABELS[key]:56} {s['p50_ms']:8.1f} {s['p95_ms']:8.1f}")
    chroma, sqlite = stats["time_chroma_where"], stats["time_sqlite_catalog"]
    for key in ("time_chroma_where", "time_sqlite_catalog"):
        s = stats[key]
        print(f"{LABELS[key]:56} {s['p50_ms']:8.1f} {s['p95_ms']:8.1f}")
    time_ratio = chroma["p50_ms"] / sqlite["p50_ms"]
    print(
        f"time lookup chroma/SQLite p50: {time_ratio:.1f}x "
        f"(same spans in {lookup['agree']:.0%} of lookups)"
    )
    print(
        "stored sentence vectors give the same hits and scores as embedding per query in "
        f"{retrieval['same_as_embedding']:.0%} of searches"
    )
    print(
        f"top-1 result from the queried topic: search {retrieval['top1']['search']:.0%}, "
        f"numpy baseline {retrieval['top1']['baseline']:.0%}"
    )
    ratios = {
        k: round(stats[k]["p50_ms"] / base, 3) for k in LABELS if not k.startswith(("time", "part"))
    }
    return {
        "bench": "query_latency",
        "library": meta,
        "built_this_run": built,
        "queries": n,
        "loadavg": loadavg(),
        "latency": stats,
        "ratio_p50_vs_baseline": ratios,
        "ratio_time_chroma_over_sqlite": round(time_ratio, 3),
        "top1_topic": retrieval["top1"],
        "same_as_embedding": retrieval["same_as_embedding"],
        "time_lookup_agree": lookup["agree"],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--hours",
        type=float,
        default=DEFAULT_HOURS,
        help=f"library size in hours of transcript (default {DEFAULT_HOURS:g})",
    )
    parser.add_argument("--small", action="store_true", help=f"{SMALL_HOURS:g} h library")
    parser.add_argument(
        "--queries",
        type=int,
        default=DEFAULT_QUERIES,
        help=f"timed queries per row (default {DEFAULT_QUERIES})",
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached library")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        help="torch intra-op threads while querying (default: torch's, = cores)",
    )
    args = parser.parse_args(argv)
    setup_paths()
    library, meta, built = open_library(SMALL_HOURS if args.small else args.hours, args.rebuild)
    try:
        threads = torch_threads(args.torch_threads)
        ids, matrix = span_matrix(library)
        work = workload(meta, max(1, args.queries))
        retrieval = measure_retrieval(library, work, ids, matrix)
        retrieval["parts"] = measure_search_parts(library, work)
        lookup = measure_time_lookup(library, work)
    finally:
        library.close()
    summary = {
        **report(meta, built, retrieval, lookup, max(1, args.queries)),
        "torch_threads": threads,
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
