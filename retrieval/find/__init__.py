"""Finding the evidence: hybrid search, sentence selection, time windows, follow-ups."""
