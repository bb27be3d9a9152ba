"""The index on disk: SQLite rows and full-text search, FAISS vectors, the manifest."""
