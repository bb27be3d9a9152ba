"""Core library of newsrag: embedding, storage, search, generation and the RAG pipeline.

Nothing in this package knows about HTTP; the service and the CLI are thin layers on top.
"""
