"""
The benchmarks' one seeding rule: a run with seed ``s`` trains with ``s`` and is evaluated on an environment whose
first reset uses ``s + EVAL_SEED_OFFSET`` (episode ``i`` of a fresh evaluation environment ``s + EVAL_SEED_OFFSET + i``
where a script resets each), so that evaluation episodes never replay training episodes' starts.
"""

#: Offset between a run's seed and its evaluation environment's.
EVAL_SEED_OFFSET = 10_000


def eval_seed(seed: int) -> int:
    """:param seed: The run's seed. :return: The seed of its evaluation environment's first reset."""
    return seed + EVAL_SEED_OFFSET
