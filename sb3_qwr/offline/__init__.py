"""
Offline data and training (Section 4.4 of the paper), in one place: fixed datasets of states, actions, rewards
and episode ends, the loaders of the formats a user already has, the replay buffer built from a dataset with the
paper's ``mu`` (:mod:`sb3_qwr.offline.buffer`), ``load_dataset``/``learn_offline``
(:class:`~sb3_qwr.offline.training.OfflineTrainingMixin`, which QWR and AWR include) and the collection of new
datasets (:mod:`sb3_qwr.offline.collect`). It sits on ``common`` and knows no algorithm.

* :class:`OfflineDataset`: the dataset and its checks (``validate``).
* Loaders: :func:`from_minari`, :func:`from_replay_buffer`, :func:`from_npz`, :func:`from_arrays`, and
  :func:`as_offline_dataset` for any of them.
* :func:`normalize_box_actions` / :func:`unnormalize_box_actions`: ``Box`` actions to and from SB3's
  ``[-1, 1]`` units.
* :func:`safe_load` / :func:`load_pickle`: pickles (saved replay buffers, ``VecNormalize``) read without running
  code from them unless the caller says the file is trusted.
* :class:`SpacesOnlyEnv`: spaces without a simulator, to build a model that only trains offline.
* ``python -m sb3_qwr.datasets``: roll saved policies out into a Minari dataset (:mod:`sb3_qwr.offline.collect`).
"""

from sb3_qwr.common.safe_pickle import UntrustedPickleError, load_pickle, safe_load
from sb3_qwr.envs.spaces_only import SpacesOnlyEnv
from sb3_qwr.offline.actions import normalize_box_actions, unnormalize_box_actions
from sb3_qwr.offline.dataset import OfflineDataset
from sb3_qwr.offline.loaders import as_offline_dataset, from_arrays, from_minari, from_npz, from_replay_buffer
from sb3_qwr.offline.training import OfflineTrainingMixin

__all__ = [
    "OfflineDataset",
    "OfflineTrainingMixin",
    "SpacesOnlyEnv",
    "UntrustedPickleError",
    "as_offline_dataset",
    "from_arrays",
    "from_minari",
    "from_npz",
    "from_replay_buffer",
    "load_pickle",
    "normalize_box_actions",
    "safe_load",
    "unnormalize_box_actions",
]
