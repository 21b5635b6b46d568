"""Files in, spans out: probe -> transcript -> spans -> (chapters, frames) -> one atomic index write."""
