"""The models: the generator contract (base.py), the embedder, the generator backends and
their presets."""
