"""
``python -m sb3_qwr.datasets``: roll saved policies out into a Minari dataset (the code:
:mod:`sb3_qwr.offline.collect`; this entry point adds QWR and AWR to the algorithms whose models it loads).
"""

from collections.abc import Sequence
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm

from sb3_qwr.awr import AWR
from sb3_qwr.offline import collect
from sb3_qwr.offline.collect import DatasetSummary, load_obs_normalizer, noisy_policy, rollout_episode
from sb3_qwr.qwr import QWR

__all__ = ["DatasetSummary", "algo_classes", "load_obs_normalizer", "main", "make_dataset", "noisy_policy", "rollout_episode"]


def algo_classes() -> dict[str, type[BaseAlgorithm]]:
    """:return: The algorithms whose saved models can be rolled out, by lower-case name: SB3's, sb3-contrib's
    (when installed), QWR and AWR."""
    return {**collect.algo_classes(), "qwr": QWR, "awr": AWR}


def make_dataset(*args: Any, **kwargs: Any) -> DatasetSummary:
    """:func:`sb3_qwr.offline.collect.make_dataset` with QWR and AWR among the algorithms (same arguments)."""
    kwargs.setdefault("algorithms", algo_classes())
    return collect.make_dataset(*args, **kwargs)


def main(argv: Sequence[str] | None = None) -> DatasetSummary:
    """
    Command line of ``python -m sb3_qwr.datasets`` (see :mod:`sb3_qwr.offline.collect`).

    :param argv: Arguments (default: ``sys.argv[1:]``).
    :return: The summary of the written dataset.
    """
    return collect.main(argv, algorithms=algo_classes())


if __name__ == "__main__":
    main()
