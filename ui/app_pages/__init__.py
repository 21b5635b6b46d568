"""The Streamlit app's pages, one module each (not `ui/pages/`: a folder of that name next
to app.py switches Streamlit to its older file-based multipage mode)."""
