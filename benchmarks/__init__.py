"""Benchmark suite: the engine against hand-written NumPy and PyTorch on the same data."""
