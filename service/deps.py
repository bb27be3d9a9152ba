"""Shared FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from index.core import Newsrag


def get_newsrag(request: Request) -> Newsrag:
    """The app's system, or a 503 that says how to build the missing index."""
    newsrag: Newsrag = request.app.state.holder.get()
    return newsrag


NewsragDep = Annotated[Newsrag, Depends(get_newsrag)]
