"""Building the index: article loaders and parsers, chunking, (re)indexing and dedup."""
