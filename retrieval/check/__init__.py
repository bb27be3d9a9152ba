"""Judging an answer: citations, claims, constraints, the calibrated confidence."""
