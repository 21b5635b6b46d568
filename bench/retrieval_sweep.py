# ruff: noqa: E701, E702, E731, E741, B007, B023, B905, E402  -- a compact tuning harness
"""Retrieval design sweep on an eval set: a numpy re-implementation of search for tuning.

    .venv/bin/python bench/retrieval_sweep.py prepare [MODEL]        # embeds once, cached
    .venv/bin/python bench/retrieval_sweep.py prepare-splade OUT     # SPLADE weights, cached
    .venv/bin/python bench/retrieval_sweep.py run LIMIT 'L:{json}' ...  # LIMIT 0 = all questions

Each spec is a window length in seconds (0: no windows) and overrides of CFG, e.g.
'0:{"focus":false,"windows":0}' (the search before issue 13: whole spans, dense+BM25
RRF; it reproduces `vidqa eval retrieval` to within 0.006), '30:{"windows":0.5}' (what
ships), '30:{"windows":0.5,"route":true,"vtitle":0.3}' (video routing with titles).
CFG's defaults are what ships (a sentence takes each list's best-region credit, windows
weigh 0.25, 40 sentences re-scored); '"cmax":false' sums the credit as before that fix.
Video routing (library-wide): '"vsig":{"topk":1,"doc":1}' ranks videos by signals --
moment (best moment), topk (sum of the best k moments, "k"), lse / lsew (log-mean-exp of
span / window cosines, temperature "T"), doc (BM25 over the whole transcript), cent (mean
span vector) -- fused by RRF with k "kv"; "top_m":1 keeps only the top video's moments,
else "vw" weighs the video score into each moment's ("vraw": the top-k sum itself).
'"wb":W' gives BM25's window list its own weight; '"kpa":A' blends the question's content
words' vector into the query vector (needs VIDQA_SWEEP_KP, a pickle of their vectors);
'"within":false' skips the within-video half. LIMIT "/5" takes every 5th question.
VIDQA_SWEEP_BY_VIDEO=1 also prints right video@1 per video (a gain one video carries shows).
'"K":k' sets the RRF constant (60); '"prf":B' moves the query vector B times the mean of its
"prf_n" best spans (dense pseudo-relevance feedback). A second embedder's cache
(VIDQA_SWEEP_CACHE2, made by `prepare` with VIDQA_SWEEP_CACHE pointing at it) adds
'"dense2":W' (its dense list over regions), '"sent2":W' (its re-scoring of the candidate
sentences as a second list) or '"mix2":A' (one re-scoring list by the blend of both cosines).
Questions are embedded as search embeds them (e5's "query: " prefix).
`prepare-splade OUT` writes SPLADE's weights of every text (models/sparse_embed.py); with
VIDQA_SWEEP_SPLADE=OUT, '"ssent":W' adds SPLADE's re-scoring of the candidate sentences (as
search does, weight 1 ships: '30:{"ssent":1}') and '"splade":W' its list over regions.
Brute-force cosine instead of Chroma, the catalog's FTS5 BM25 and keyword terms,
sentence units from index/windows.py. The product path is `vidqa eval retrieval
--ablate`; this script exists because it runs a configuration over all 2,524
pstuts-dev questions in about a minute, where the product eval takes many.
Set with VIDQA_SWEEP_SET (default ../shared/eval/pstuts-dev) and VIDQA_SWEEP_CACHE.
"""

import json
import os
import pickle
import sqlite3
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
CACHE = os.environ.get("VIDQA_SWEEP_CACHE") or "/tmp/vidqa-bench/retrieval-sweep.pkl"


def prepare():
    from index.windows import make_windows, sentences_of
    from ingest.spans import make_spans
    from ingest.transcript import transcript_from_subtitles
    from models.text_embed import load_text_embedder

    root = Path(
        os.environ.get("VIDQA_SWEEP_SET")
        or Path(__file__).resolve().parents[2] / "shared/eval/pstuts-dev"
    )
    videos = [json.loads(l) for l in (root / "videos.jsonl").read_text().splitlines() if l.strip()]
    qs = [json.loads(l) for l in (root / "questions.jsonl").read_text().splitlines() if l.strip()]
    data = {"videos": videos, "questions": qs, "spans": {}, "windows": {}}
    for v in videos:
        tr = transcript_from_subtitles(root / v["transcript"])
        spans = make_spans(tr, v["video_id"])
        data["spans"][v["video_id"]] = spans
        for L in (20, 30, 40, 60):
            data["windows"][(v["video_id"], L)] = make_windows(spans, length_s=L, hop_s=L / 2)
    emb = load_text_embedder(sys.argv[2] if len(sys.argv) > 2 else None)
    texts = {}

    def add(t):
        texts.setdefault(t, None)

    for q in qs:
        add(q["question"])
    for vid, spans in data["spans"].items():
        for s in spans:
            add(s.text)
            for st in sentences_of(s):
                add(st[2])
    for ws in data["windows"].values():
        for w in ws:
            add(w.text)
    for v in videos:
        add(v["title"])
    keys = list(texts)
    t0 = time.time()
    vecs = emb.embed(keys)
    print(len(keys), "texts", time.time() - t0, "s", file=sys.stderr)
    data["vec"] = dict(zip(keys, vecs))
    asked = list(dict.fromkeys(q["question"] for q in qs))
    # questions as search embeds them (e5 prefixes a query differently from a passage)
    data["qvec"] = dict(zip(asked, emb.embed(asked, query=True)))
    Path(CACHE).write_bytes(pickle.dumps(data))


def prepare_splade(out: str) -> None:
    """SPLADE weights (models/sparse_embed.py) of every text of the cache, for VIDQA_SWEEP_SPLADE."""
    import scipy.sparse as sp

    from models.sparse_embed import load_sparse_embedder

    data = pickle.loads(Path(CACHE).read_bytes())
    texts = list(dict.fromkeys([*data["vec"], *data.get("qvec", {})]))
    splade = load_sparse_embedder("splade-tiny")
    t0 = time.time()
    rows = [sp.csr_matrix(splade._weights(texts[i : i + 256])) for i in range(0, len(texts), 256)]
    print(len(texts), "texts", round(time.time() - t0, 1), "s", file=sys.stderr)
    Path(out).write_bytes(pickle.dumps({"texts": texts, "S": sp.vstack(rows).tocsr()}))


from index import keyword
from index.windows import sentences_of

K = 60


def _keyed(vid, sentences):
    """(start, end, text, key) per sentence: the key is the product's moment key"""
    return [(a, b, t, (vid, round(a, 2), round(b, 2))) for a, b, t in sentences]


def build(L):
    regs = []  # (vid, kind, start, end, text, sentences)
    for vid, spans in D["spans"].items():
        for s in spans:
            regs.append((vid, "t", s.start, s.end, s.text, _keyed(vid, sentences_of(s))))
        if L:
            for w in D["windows"][(vid, L)]:
                regs.append(
                    (
                        vid,
                        "w",
                        w.start,
                        w.end,
                        w.text,
                        _keyed(vid, [tuple(x) for x in w.extra["sentences"]]),
                    )
                )
    M = np.stack([V[r[4]] for r in regs])
    if "V2" in globals():
        global M2
        M2 = np.stack([V2[r[4]] for r in regs])
    if "SPL" in globals():  # SPLADE rows of the regions, in the same order
        global MS
        MS = SPL["S"][[SPL["row"][r[4]] for r in regs]]
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE f USING fts5(terms, tokenize='porter unicode61')")
    for i, r in enumerate(regs):
        db.execute("INSERT INTO f(rowid, terms) VALUES (?,?)", (i, keyword.document(r[4])))
    tdb = sqlite3.connect(":memory:")
    tdb.execute("CREATE VIRTUAL TABLE f USING fts5(terms, tokenize='porter unicode61')")
    for i, v in enumerate(videos):
        tdb.execute("INSERT INTO f(rowid, terms) VALUES (?,?)", (i, keyword.document(v["title"])))
    return regs, M, db, tdb


def bm25(db, q, limit=200):
    m = keyword.match_query(q)
    if not m:
        return []
    return [
        r[0]
        for r in db.execute(
            "SELECT rowid FROM f WHERE f MATCH ? ORDER BY bm25(f) LIMIT ?", (m, limit)
        )
    ]


def rrf_add(scores, ids, w=1.0):
    for r, i in enumerate(ids):
        scores[i] += w / (K + r + 1)


def prf(qv, regs, M, allowed, cfg):
    """Dense pseudo-relevance feedback: the query moved toward its best `prf_n` regions."""
    idx = [i for i in range(len(regs)) if regs[i][0] in allowed and regs[i][1] == "t"]
    top = [idx[j] for j in np.argsort(-(M[idx] @ qv))[: cfg.get("prf_n", 3)]]
    q = qv + cfg["prf"] * M[top].mean(0)
    return q / np.linalg.norm(q)


def _spl(text):
    """SPLADE's row of `text` (a question or a passage: one encoder for both)."""
    return SPL["S"][SPL["row"][text]]


def hit(vid, s, e, q):
    return vid == q["video_id"] and q["start"] <= (s + e) / 2 <= q["end"]


CFG = dict(
    windows=0.25, spans=1.0, sent=1.0, dense=1.0, bm=1.0, focus=True, N=50, ext=0, S=40, fold=1
)  # what ships, less SPLADE's list ('"ssent":1', needs VIDQA_SWEEP_SPLADE)


def rank_moments(qv, qtext, regs, M, db, allowed, cfg, with_scores=False):
    """list of (vid, start, end) best first"""
    idx = [i for i in range(len(regs)) if regs[i][0] in allowed]
    if cfg.get("prf"):
        qv = prf(qv, regs, M, allowed, cfg)
    sims = M[idx] @ qv
    order = [idx[j] for j in np.argsort(-sims)]
    bm = [i for i in bm25(db, qtext) if regs[i][0] in allowed]
    N = cfg["N"]
    region = defaultdict(float)
    lists = [(order, cfg["dense"]), (bm, cfg["bm"])]
    if cfg.get("dense2"):  # a second embedder's dense list (VIDQA_SWEEP_CACHE2)
        q2 = Q2[qtext]
        s2 = M2[idx] @ q2
        lists.append(([idx[j] for j in np.argsort(-s2)], cfg["dense2"]))
    if cfg.get("splade"):  # a learned sparse list over regions (VIDQA_SWEEP_SPLADE)
        ss_ = np.asarray((MS[idx] @ _spl(qtext).T).todense()).ravel()
        lists.append(([idx[j] for j in np.argsort(-ss_)], cfg["splade"]))
    for lst, w in lists:
        for kind, kw in (("t", cfg["spans"]), ("w", cfg["windows"])):
            if w and kw:
                rrf_add(region, [i for i in lst if regs[i][1] == kind][:N], w * kw)
    if not cfg["focus"]:
        best = sorted(region, key=lambda i: -region[i])
        out = []
        for i in best:
            if regs[i][1] == "t":
                out.append((regs[i][0], regs[i][2], regs[i][3]))
        return out
    # sentence level: credit from every region containing the sentence
    sent = defaultdict(float)
    stext = {}
    if cfg.get(
        "cmax", True
    ):  # the product: from each list a sentence takes its best region's credit
        best = defaultdict(float)
        for lst, w in lists:
            for kind, kw in (("t", cfg["spans"]), ("w", cfg["windows"])):
                if kind == "w" and lst is bm and "wb" in cfg:
                    kw = cfg["wb"]  # BM25's window weight alone
                if not (w and kw):
                    continue
                for r, i in enumerate([i for i in lst if regs[i][1] == kind][:N]):
                    c = w * kw / (K + r + 1)
                    for s in regs[i][5]:
                        b = (s[3], kind, id(lst))
                        if c > best[b]:
                            best[b] = c
                        stext[s[3]] = s[2]
        for (key, _, _), c in best.items():
            sent[key] += c
    else:  # the sum over every region holding the sentence (before the best-region fix)
        for i, sc in region.items():
            for s in regs[i][5]:
                sent[s[3]] += sc
                stext[s[3]] = s[2]
    if cfg["sent"]:
        top = sorted(sent, key=lambda k: -sent[k])[: cfg.get("S", 60)]
        ss = np.array([V[stext[k]] @ qv for k in top])
        if cfg.get("mix2") is not None:  # one list by a blend of both models' cosines
            s2 = np.array([V2[stext[k]] @ Q2[qtext] for k in top])
            ss = (1 - cfg["mix2"]) * ss + cfg["mix2"] * s2
        rrf_add(sent, [top[j] for j in np.argsort(-ss)], cfg["sent"])
        if cfg.get("ssent"):  # SPLADE re-scores the same sentences
            qs_ = _spl(qtext)
            s3 = np.array([(_spl(stext[k]) @ qs_.T).sum() for k in top])
            rrf_add(sent, [top[j] for j in np.argsort(-s3)], cfg["ssent"])
        if cfg.get("sent2"):  # the second embedder re-scores the same sentences
            s2 = np.array([V2[stext[k]] @ Q2[qtext] for k in top])
            rrf_add(sent, [top[j] for j in np.argsort(-s2)], cfg["sent2"])
    ranked = sorted(sent, key=lambda k: -sent[k])
    if cfg.get("fold"):
        kept = []
        for k in ranked:
            for j, p in enumerate(kept):
                if p[0] == k[0] and k[1] - 1.5 <= p[2] and p[1] - 1.5 <= k[2]:
                    if cfg["fold"] == 2:
                        kept[j] = (p[0], min(p[1], k[1]), max(p[2], k[2]))
                    break
            else:
                kept.append(k)
            if len(kept) >= cfg.get("keep", 10) and cfg["fold"] == 1:
                break
        if cfg["fold"] == 2:
            pass
        sent.update({k: 0 for k in kept if k not in sent})
        ranked = kept
    return (ranked, sent) if with_scores else ranked


def route(qv, qtext, regs, M, db, tdb, cfg, sent_rank_fn):
    # video by best span (library-wide fused), title dense, title bm25
    scores = defaultdict(float)
    moments, sent = sent_rank_fn(set(v["video_id"] for v in videos), True)
    m = cfg.get("vtop", 1)
    per = defaultdict(list)
    for k in moments:
        if len(per[k[0]]) < m:
            per[k[0]].append(sent[k])
    vs = {v: sum(x) for v, x in per.items()}
    if cfg.get("vscore"):  # the moment's own fused score, not its video's rank
        scores.update(vs)
    else:
        rrf_add(scores, sorted(vs, key=lambda v: -vs[v]), cfg.get("vspan", 1.0))
    if cfg.get("vcent"):
        C = np.stack([CENT[v["video_id"]] for v in videos])
        cs = C @ qv
        rrf_add(scores, [videos[j]["video_id"] for j in np.argsort(-cs)], cfg["vcent"])
    if cfg.get("vtitle", 1.0):
        T = np.stack([V[v["title"]] for v in videos])
        ts = T @ qv
        rrf_add(scores, [videos[j]["video_id"] for j in np.argsort(-ts)], cfg.get("vtitle", 1.0))
        rrf_add(scores, [videos[j]["video_id"] for j in bm25(tdb, qtext)], cfg.get("vtitle", 1.0))
    return sorted(scores, key=lambda v: -scores[v]), moments


def video_signals(qv, qtext, moments, sent, regs, M, cfg):
    """Video rankings (best first) from aggregated evidence, one list per signal in cfg["vsig"]."""
    out = {}
    sig = cfg["vsig"]
    if "moment" in sig or "topk" in sig:
        per = defaultdict(list)
        for k in moments:
            per[k[0]].append(sent[k])
        if "moment" in sig:
            out["moment"] = sorted(per, key=lambda v: -per[v][0])
        if "topk" in sig:
            tk = cfg.get("k", 3)
            out["topk"] = sorted(per, key=lambda v: -sum(per[v][:tk]))
    if "lse" in sig or "lsew" in sig:  # log-mean-exp of a video's span (or window) cosines
        T = cfg.get("T", 0.05)
        for name, kind in (("lse", "t"), ("lsew", "w")):
            if name not in sig:
                continue
            sc = {}
            for v, idx in VIDX[kind].items():
                x = M[idx] @ qv / T
                sc[v] = x.max() + np.log(np.exp(x - x.max()).mean())
            out[name] = sorted(sc, key=lambda v: -sc[v])
    if "doc" in sig:  # BM25 over each video's whole transcript
        out["doc"] = [videos[j]["video_id"] for j in bm25(DOCDB, qtext, 50)]
    if "cent" in sig:
        C = np.stack([CENT[v["video_id"]] for v in videos])
        out["cent"] = [videos[j]["video_id"] for j in np.argsort(-(C @ qv))]
    return out


def routed(qv, qtext, moments, sent, regs, M, cfg):
    """Library-wide moments re-ordered by video: moment score + vw * video RRF (k = kv)."""
    lists = video_signals(qv, qtext, moments, sent, regs, M, cfg)
    kv = cfg.get("kv", 2)
    vscore = defaultdict(float)
    if cfg.get("vraw"):  # the sum of the video's best k moment scores itself, not its rank
        per = defaultdict(list)
        for k in moments:
            per[k[0]].append(sent[k])
        vscore.update({v: sum(x[: cfg.get("k", 3)]) for v, x in per.items()})
        lists = {}
    for name, ids in lists.items():
        for r, v in enumerate(ids):
            vscore[v] += cfg["vsig"][name] / (kv + r + 1)
    vw = cfg.get("vw", 0.01)
    m = cfg.get("top_m", 0)
    keep = set(sorted(vscore, key=lambda v: -vscore[v])[:m]) if m else None
    pool = [k for k in moments if keep is None or k[0] in keep]
    return sorted(pool, key=lambda k: -(sent[k] + vw * vscore[k[0]]))


def evaluate(L, cfg, lib=True):
    regs, M, db, tdb = build(L)
    global VIDX, DOCDB
    VIDX = {kind: defaultdict(list) for kind in ("t", "w")}
    for i, r in enumerate(regs):
        VIDX[r[1]][r[0]].append(i)
    DOCDB = sqlite3.connect(":memory:")
    DOCDB.execute("CREATE VIRTUAL TABLE f USING fts5(terms, tokenize='porter unicode61')")
    for i, v in enumerate(videos):
        DOCDB.execute(
            "INSERT INTO f(rowid, terms) VALUES (?,?)",
            (i, keyword.document(" ".join(s.text for s in D["spans"][v["video_id"]]))),
        )
    global CENT
    CENT = {}
    for v in videos:
        X = np.stack([V[s.text] for s in D["spans"][v["video_id"]]]).mean(0)
        CENT[v["video_id"]] = X / np.linalg.norm(X)
    h1 = h5 = lv = lh = lv5 = 0
    per_video = defaultdict(lambda: [0, 0])  # video -> [questions, right video@1]
    for q in qs:
        qv = D.get("qvec", V)[q["question"]]
        if cfg.get("kpa"):  # blend in the question's content words alone (query expansion)
            kv_ = KP.get(
                " ".join(
                    t
                    for t in keyword.terms(q["question"])
                    if t not in keyword.STOPWORDS and (len(t) > 1 or not t.isascii())
                )
            )
            if kv_ is not None:
                qv = qv + cfg["kpa"] * kv_
                qv = qv / np.linalg.norm(qv)
        f = lambda allowed, ws=False: rank_moments(qv, q["question"], regs, M, db, allowed, cfg, ws)
        ms = f({q["video_id"]}) if cfg.get("within", True) else []
        ranks = [hit(*m, q) for m in ms[:5]]
        h1 += bool(ranks and ranks[0])
        h5 += any(ranks)
        if lib:
            if cfg.get("vsig"):
                allm, sent = f(set(v["video_id"] for v in videos), True)
                allm = routed(qv, q["question"], allm, sent, regs, M, cfg)
                top = allm[0] if allm else ("", 0.0, 0.0)
                lv5 += q["video_id"] in list(dict.fromkeys(m[0] for m in allm))[:5]
            elif cfg.get("route"):
                vids, _ = route(qv, q["question"], regs, M, db, tdb, cfg, f)
                inside = f({vids[0]})
                top = inside[0] if inside else ("", 0.0, 0.0)
                lv5 += q["video_id"] in vids[:5]
            else:
                allm = f(set(v["video_id"] for v in videos))
                top = allm[0] if allm else ("", 0.0, 0.0)
                lv5 += q["video_id"] in list(dict.fromkeys(m[0] for m in allm))[:5]
            lv += top[0] == q["video_id"]
            lh += hit(*top, q)
            per_video[q["video_id"]][0] += 1
            per_video[q["video_id"]][1] += top[0] == q["video_id"]
    n = len(qs)
    if os.environ.get("VIDQA_SWEEP_BY_VIDEO"):  # right video@1 per question's video
        print({v: round(r / c, 3) for v, (c, r) in per_video.items()}, flush=True)
    return dict(
        hit1=round(h1 / n, 3),
        hit5=round(h5 / n, 3),
        lib_video=round(lv / n, 3),
        lib_video5=round(lv5 / n, 3),
        lib_hit=round(lh / n, 3),
    )


if __name__ == "__main__":
    import json

    if sys.argv[1] == "prepare":
        prepare()
        sys.exit(0)
    if sys.argv[1] == "prepare-splade":
        prepare_splade(sys.argv[2])
        sys.exit(0)
    D = pickle.loads(Path(CACHE).read_bytes())
    V = D["vec"]
    if os.environ.get("VIDQA_SWEEP_CACHE2"):  # a second embedder, for "dense2"/"sent2"/"mix2"
        D2 = pickle.loads(Path(os.environ["VIDQA_SWEEP_CACHE2"]).read_bytes())
        V2, Q2 = D2["vec"], D2.get("qvec", D2["vec"])
    if os.environ.get("VIDQA_SWEEP_SPLADE"):  # {"texts", "S"}: SPLADE rows of every text
        SPL = pickle.loads(Path(os.environ["VIDQA_SWEEP_SPLADE"]).read_bytes())
        SPL["row"] = {t: i for i, t in enumerate(SPL["texts"])}
    videos = D["videos"]
    KP = (
        pickle.loads(Path(os.environ["VIDQA_SWEEP_KP"]).read_bytes())
        if os.environ.get("VIDQA_SWEEP_KP")
        else {}
    )
    # LIMIT: the first N questions (0: all), or /N: every N-th question (a sample spread over all videos)
    qs = (
        D["questions"][:: int(sys.argv[2][1:])]
        if sys.argv[2].startswith("/")
        else D["questions"][: int(sys.argv[2]) or None]
    )
    for spec in sys.argv[3:]:
        L, c = spec.split(":", 1)
        cfg = {**CFG, **json.loads(c)}
        K = cfg.get("K", 60)  # the RRF constant
        print(spec, evaluate(int(L), cfg), flush=True)
