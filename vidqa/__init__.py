"""vidqa: ask a video library questions and get answers that cite the clips they came from.

Packages, data flowing one way:  ingest -> index <- qa <- ui. Imports go one way too
(tests/test_layers.py checks them):

    ui -> qa -> index -> vidqa        ingest -> models, index        models -> vidqa

models/ holds everything that loads weights (ASR, embedders, CLIP, VLMs, Qwen3-VL token
geometry) and may be used by ingest, index and qa; index/records.py (the record types at
the seams) may be imported from anywhere; vidqa/ is the bottom: settings, errors, clock
strings, language tags, and media facts (probe.py, decode.py).
"""

__version__ = "0.1.0"
