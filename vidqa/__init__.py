"""vidqa: ask a video library questions and get answers that cite the clips they came from.

Packages, data flowing one way:  ingest -> index <- qa <- ui, with models/ for
everything that loads weights and vidqa/ for settings and errors.
"""

__version__ = "0.1.0"
