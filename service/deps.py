"""Shared FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from retrieval.pipeline import RAGPipeline


def get_pipeline(request: Request) -> RAGPipeline:
    """The app's pipeline, or a 503 that says how to build the missing index."""
    pipeline: RAGPipeline = request.app.state.holder.get()
    return pipeline


PipelineDep = Annotated[RAGPipeline, Depends(get_pipeline)]
