"""Language primitives the checks and the search share: sentences, words, stems."""
