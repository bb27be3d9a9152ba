"""The web service (FastAPI), the chat page and the `newsrag` CLI."""
