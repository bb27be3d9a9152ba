"""Batch evaluations run through the same pipeline the service uses."""
