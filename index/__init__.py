"""The only package that talks to chromadb. Owns records, the catalog and search."""
