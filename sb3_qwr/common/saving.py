"""
Saving and loading of the weighted-regression algorithms beyond SB3's ``save``/``load``: what a file leaves out,
replay buffers checked before they replace the model's, and exact resume (:mod:`sb3_qwr.resume`).
"""

import io
import pathlib
from typing import TYPE_CHECKING, TypeVar

import torch as th
from stable_baselines3.common.save_util import load_from_pkl
from stable_baselines3.common.vec_env import VecEnv

from sb3_qwr.common.buffers import WeightedRegressionBufferMixin
from sb3_qwr.resume import resume, save_checkpoint

if TYPE_CHECKING:
    from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

    _Base = OffPolicyAlgorithm
else:
    _Base = object

SelfSaving = TypeVar("SelfSaving", bound="SavingMixin")


class SavingMixin(_Base):
    """Saving, loading and exact resume of a :class:`~sb3_qwr.common.base_class.WeightedRegressionAlgorithm`."""

    n_step_horizon: int

    # Exact resume (sb3_qwr.resume)
    def save_checkpoint(self, path: str | pathlib.Path) -> pathlib.Path:
        """
        Write a checkpoint from which :meth:`resume` continues this run exactly (see :mod:`sb3_qwr.resume`); call it
        between ``learn`` calls, or let :class:`sb3_qwr.resume.CheckpointCallback` call it during ``learn``.

        :param path: The checkpoint file (replaced atomically).
        :return: The path written.
        """
        return save_checkpoint(self, path)

    @classmethod
    def resume(
        cls: type[SelfSaving],
        path: str | pathlib.Path,
        env: VecEnv,
        device: th.device | str = "auto",
        trusted: bool = False,
    ) -> SelfSaving:
        """
        Rebuild a stopped run from its checkpoint on a freshly built environment of the same kind; continue it with
        ``model.learn(sb3_qwr.resume.remaining_timesteps(model), reset_num_timesteps=False)``.

        :param path: The checkpoint file.
        :param env: A ``DummyVecEnv`` built as the stopped run's; the checkpoint restores its episodes and seeds.
        :param device: Torch device of the resumed model.
        :param trusted: Unpickle without restriction (the file may then run code).
        :return: The resumed model.
        """
        return resume(path, env, algorithm=cls, device=str(device), trusted=trusted)  # type: ignore[return-value]

    # Saving
    def _excluded_save_params(self) -> list[str]:
        return [
            *super()._excluded_save_params(),
            "actor",
            "critic",
            "critic_target",
            "actor_lr_schedule",
            "critic_lr_schedule",
            "_last_mu",
            "_compiled_hooks",
            "_update_hooks",
            "_checked_action_space",
        ]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        return ["policy", "actor.optimizer", "critic.optimizer"], []

    def load_replay_buffer(self, path: str | pathlib.Path | io.BufferedIOBase, truncate_last_traj: bool = True) -> None:
        """
        SB3's ``load_replay_buffer`` (it unpickles the file: load only files you trust), refusing a buffer this
        model cannot train on before it replaces the current one: one that does not store the sampling
        distributions (SAC's, DQN's, ...: read those with ``load_dataset``), or one whose multi-step horizon or
        spaces differ from the model's.

        :param path: Path to the pickled replay buffer.
        :param truncate_last_traj: Unused (HER only, as in SB3).
        """
        buffer = load_from_pkl(path, self.verbose)
        name = f"{type(self).__name__}.load_replay_buffer"
        if not isinstance(buffer, WeightedRegressionBufferMixin):
            raise ValueError(
                f"{name}: the file holds a {type(buffer).__name__}, which does not store the distribution each action "
                "was sampled from. To train on its transitions, use model.load_dataset(path) (the paper's mu around "
                "each action) or sb3_qwr.offline.from_replay_buffer(path)."
            )
        if buffer.n_step_horizon != self.n_step_horizon:
            raise ValueError(
                f"{name}: the buffer samples {buffer.n_step_horizon}-step sequences but the model's n_step_horizon is "
                f"{self.n_step_horizon}: build the model with n_step_horizon={buffer.n_step_horizon}, or set "
                f"replay_buffer.n_step_horizon = {self.n_step_horizon} after loading to train with the model's horizon."
            )
        for what, ours, theirs in (
            ("observation", self.observation_space, buffer.observation_space),  # type: ignore[attr-defined]
            ("action", self.action_space, buffer.action_space),
        ):
            if ours != theirs:
                raise ValueError(f"{name}: the buffer's {what} space {theirs} is not the model's {ours}.")
        buffer.device = self.device  # type: ignore[attr-defined]
        self.replay_buffer = buffer  # type: ignore[assignment]
