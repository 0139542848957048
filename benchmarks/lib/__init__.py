"""What the benchmarks share (the start of ``benchmarks/`` as a library): the evaluation callback."""
