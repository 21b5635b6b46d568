"""Learned score fusion, fitted and scored with grouped cross-validation by video.

    .venv/bin/python bench/fusion_fit.py [LIMIT]    # LIMIT "/N": every N-th question

Per question, the candidate sentences the product fuses (bench/retrieval_sweep.py's
numpy re-implementation of search, 30 s windows) get features: the reciprocal-rank credit
of their best region in each of the four lists (dense/BM25 x span/window), the raw cosine
of that best span and window, BM25 scores divided by the query's best, the sentence's own
cosine, and the shipped re-scoring's credit. A logistic regression (standardised
features) learns which candidate holds the answer; with 11 videos, each fold fits on the
questions of 10 and scores the 11th's questions (within their video and library-wide).
Prints the shipped row and the held-out learned row on the same questions, and the
weights of a fit on all videos.
"""

from __future__ import annotations

import pickle
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import retrieval_sweep as rs  # noqa: E402

LISTS = [("dense", "t"), ("dense", "w"), ("bm", "t"), ("bm", "w")]
FEATURES = [
    "credit_dense_span",
    "credit_dense_window",
    "credit_bm25_span",
    "credit_bm25_window",
    "cos_best_span",
    "cos_best_window",
    "bm25_best_span",
    "bm25_best_window",
    "cos_sentence",
    "rescore_credit",
    "shipped_score",
]
CANDIDATES = 100  # per question and scope, by the shipped fused score
N = 50  # per list, as the product


def bm25_scored(db, q, limit=200):
    m = rs.keyword.match_query(q)
    if not m:
        return []
    rows = db.execute(
        "SELECT rowid, -bm25(f) FROM f WHERE f MATCH ? ORDER BY bm25(f) LIMIT ?", (m, limit)
    )
    return list(rows)


def candidates(qv, qtext, regs, M, db, allowed):
    """(keys, feature matrix) of the question's candidate sentences, best shipped first."""
    idx = [i for i in range(len(regs)) if regs[i][0] in allowed]
    sims = M[idx] @ qv
    cos = dict(zip(idx, sims, strict=True))
    order = [idx[j] for j in np.argsort(-sims)]
    bm = [(i, s) for i, s in bm25_scored(db, qtext) if regs[i][0] in allowed]
    top_bm = max((s for _, s in bm), default=1.0) or 1.0
    bm_score = {i: s / top_bm for i, s in bm}
    feats = defaultdict(lambda: np.zeros(len(FEATURES)))
    text = {}
    shipped_w = {"t": 1.0, "w": rs.CFG["windows"]}
    for li, (name, kind) in enumerate(LISTS):
        ranked = order if name == "dense" else [i for i, _ in bm]
        for r, i in enumerate([i for i in ranked if regs[i][1] == kind][:N]):
            c = 1.0 / (rs.K + r + 1)
            for s in regs[i][5]:
                f = feats[s[3]]
                text[s[3]] = s[2]
                f[li] = max(f[li], c)
                f[4 if kind == "t" else 5] = max(f[4 if kind == "t" else 5], cos[i])
                if i in bm_score:
                    f[6 if kind == "t" else 7] = max(f[6 if kind == "t" else 7], bm_score[i])
    keys = list(feats)
    X = np.stack([feats[k] for k in keys]) if keys else np.zeros((0, len(FEATURES)))
    X[:, 10] = X[:, 0] + X[:, 1] * shipped_w["w"] + X[:, 2] + X[:, 3] * shipped_w["w"]
    if keys:
        X[:, 8] = np.stack([rs.V[text[k]] for k in keys]) @ qv
    first = np.argsort(-X[:, 10], kind="stable")
    pool = first[: rs.CFG["S"]]
    for rank, j in enumerate(pool[np.argsort(-X[pool, 8], kind="stable")]):
        X[j, 9] = 1.0 / (rs.K + rank + 1)
    X[:, 10] += X[:, 9]
    keep = np.argsort(-X[:, 10], kind="stable")[:CANDIDATES]
    return [keys[j] for j in keep], X[keep]


def collect(questions, regs, M, db):
    every = {v["video_id"] for v in rs.videos}
    rows = []
    for q in questions:
        qv = rs.V[q["question"]]
        within = candidates(qv, q["question"], regs, M, db, {q["video_id"]})
        library = candidates(qv, q["question"], regs, M, db, every)
        rows.append((q, within, library))
    return rows


def labels(q, keys):
    return np.array([rs.hit(k[0], k[1], k[2], q) for k in keys], dtype=float)


def score_rows(rows, pick):
    """hit@1 within, right video@1, library hit@1 with `pick(row number, X) -> scores`."""
    h1 = lv = lh = 0
    for n, (q, (wk, wx), (lk, lx)) in enumerate(rows):
        if wk:
            h1 += rs.hit(*wk[int(np.argmax(pick(n, wx)))], q)
        if lk:
            top = lk[int(np.argmax(pick(n, lx)))]
            lv += top[0] == q["video_id"]
            lh += rs.hit(*top, q)
    n = len(rows)
    return dict(hit1=round(h1 / n, 3), lib_video=round(lv / n, 3), lib_hit=round(lh / n, 3))


def fit(rows, C=1.0):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = np.vstack([x for _, w, lib in rows for _, x in (w, lib) if len(x)])
    y = np.concatenate([labels(q, k) for q, w, lib in rows for k, x in (w, lib) if len(x)])
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    model.fit(X[:, :10], y)  # the shipped score is a sum of these: left out
    return model


def fit_pairwise(rows, C=1.0, pairs_per_list=20, seed=0):
    """A linear ranker: logistic regression on feature differences (answer minus not) of
    candidates of one list, so the weights order candidates within a question."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    diffs = []
    for q, w, lib in rows:
        for keys, x in (w, lib):
            y = labels(q, keys)
            pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
            if not len(pos) or not len(neg):
                continue
            a = rng.choice(pos, pairs_per_list)
            b = rng.choice(neg, pairs_per_list)
            diffs.append(x[a, :10] - x[b, :10])
    D = np.vstack(diffs)
    scale = D.std(axis=0) + 1e-9
    X = np.vstack([D, -D]) / scale
    y = np.r_[np.ones(len(D)), np.zeros(len(D))]
    lr = LogisticRegression(C=C, fit_intercept=False, max_iter=2000).fit(X, y)
    weights = lr.coef_[0] / scale
    return weights


def main():
    rs.D = pickle.loads(Path(rs.CACHE).read_bytes())
    rs.V, rs.videos = rs.D["vec"], rs.D["videos"]
    limit = sys.argv[1] if len(sys.argv) > 1 else "0"
    qs = rs.D["questions"]
    qs = qs[:: int(limit[1:])] if limit.startswith("/") else qs[: int(limit) or None]
    started = time.time()
    regs, M, db, _ = rs.build(30)
    rows = collect(qs, regs, M, db)
    print(f"{len(rows)} questions, features in {time.time() - started:.0f} s", file=sys.stderr)
    shipped = score_rows(rows, lambda n, x: x[:, 10])
    print("shipped fusion          ", shipped)
    for C in (0.01, 1.0):
        held = []
        for video in rs.videos:
            train = [r for r in rows if r[0]["video_id"] != video["video_id"]]
            test = [r for r in rows if r[0]["video_id"] == video["video_id"]]
            if not test:
                continue
            model = fit(train, C)
            held += [(r, model) for r in test]
        models = [m for _, m in held]
        scores = score_rows(
            [r for r, _ in held], lambda n, x, m=models: m[n].decision_function(x[:, :10])
        )
        print(f"learned, held-out video C={C}", scores)
    held = []
    for video in rs.videos:
        train = [r for r in rows if r[0]["video_id"] != video["video_id"]]
        test = [r for r in rows if r[0]["video_id"] == video["video_id"]]
        if test:
            weights = fit_pairwise(train)
            held += [(r, weights) for r in test]
    ws = [w for _, w in held]
    print(
        "learned pairwise, held-out video",
        score_rows([r for r, _ in held], lambda n, x, ws=ws: x[:, :10] @ ws[n]),
    )
    print("pairwise weights (all videos):", np.round(fit_pairwise(rows), 4).tolist())
    model = fit(rows)
    scaler, lr = model.steps[0][1], model.steps[1][1]
    weights = lr.coef_[0] / scaler.scale_
    print("weights (all videos, raw feature units):")
    for name, w in zip(FEATURES[:10], weights, strict=True):
        print(f"  {name:22} {w:+.4f}")


if __name__ == "__main__":
    main()
