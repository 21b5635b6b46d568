"""User interfaces: the `vidqa` CLI and the Streamlit app. No logic beyond qa/ and index/."""
