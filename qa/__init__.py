"""Questions in, cited answers out: time parsing, retrieval plans, answers, citations."""
