"""
Offline QWR (Section 4.4 of the paper): train on a fixed dataset of states, actions, rewards and episode ends,
without any environment interaction.

* :class:`OfflineDataset`: the dataset and its checks (``validate``).
* Loaders: :func:`from_minari`, :func:`from_replay_buffer`, :func:`from_npz`, :func:`from_arrays`, and
  :func:`as_offline_dataset` for any of them.
* :func:`dataset_dist_params` / :func:`make_replay_buffer`: the paper's sampling policy ``mu`` (a Gaussian of
  std 0.4 centered on the dataset action; a smoothed one-hot for ``Discrete``) and a QWR replay buffer holding
  the dataset.
* ``QWR.load_dataset`` and ``QWR.learn_offline`` (implemented by :func:`load_dataset_into` and
  :func:`train_offline`).
* ``python -m sb3_qwr.datasets``: roll saved policies out into a Minari dataset
  (:mod:`sb3_qwr.offline.make_dataset`).
"""

from sb3_qwr.offline.buffer import (
    dataset_dist_params,
    fill_replay_buffer,
    make_replay_buffer,
    normalize_box_actions,
    unnormalize_box_actions,
)
from sb3_qwr.offline.dataset import OfflineDataset
from sb3_qwr.offline.loaders import as_offline_dataset, from_arrays, from_minari, from_npz, from_replay_buffer
from sb3_qwr.offline.training import OfflineProgressBarCallback, SpacesOnlyEnv, load_dataset_into, train_offline

__all__ = [
    "OfflineDataset",
    "OfflineProgressBarCallback",
    "SpacesOnlyEnv",
    "as_offline_dataset",
    "dataset_dist_params",
    "fill_replay_buffer",
    "from_arrays",
    "from_minari",
    "from_npz",
    "from_replay_buffer",
    "load_dataset_into",
    "make_replay_buffer",
    "normalize_box_actions",
    "train_offline",
    "unnormalize_box_actions",
]
