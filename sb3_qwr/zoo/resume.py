"""
Exact resume in the Zoo: ``sb3-qwr train ... --checkpoint-freq N`` writes a checkpoint (:mod:`sb3_qwr.resume`) to
``<log folder>/<algo>/<env>_<id>/checkpoint.zip`` every ``N`` steps, and ``sb3-qwr train ... --resume`` (the same
command with ``--resume`` added) continues the latest run of that folder from it, in the same run folder, to
exactly the result it would have had: the Monitor log is cut back to the checkpoint and appended to,
``evaluations.npz`` continues with the evaluations so far, TensorBoard continues in the same run at the right
step, and the random generators, environments mid-episode (training and evaluation), the replay buffer with mu,
optimizers and counters are those of the stopped run. Works for every Zoo algorithm (QWR, AWR, SAC, TD3, DQN,
PPO, ...).

``--resume`` is safe to put in a command that a scheduler runs again after a preemption: with no run in the
folder yet it starts one, a run stopped before its first checkpoint starts again in its own folder, and a
finished run is left as it is.
"""

import os
from collections.abc import Callable
from typing import Any

import gymnasium as gym
from rl_zoo3.exp_manager import ExperimentManager
from rl_zoo3.utils import ALGOS, get_latest_run_id
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import SubprocVecEnv, VecEnv

from sb3_qwr.resume import CheckpointCallback, ResumableEnv, read_checkpoint, resume
from sb3_qwr.resume.checkpoint import read_callback_states

#: File name of the checkpoint in a Zoo run folder.
CHECKPOINT_NAME = "checkpoint.zip"
#: Qualified name of the checkpoint callback, as the checkpoint records callbacks.
_CALLBACK_CLASS = f"{CheckpointCallback.__module__}.{CheckpointCallback.__qualname__}"


def _resumable(wrapper: Callable[[gym.Env], gym.Env] | None) -> Callable[[gym.Env], gym.Env]:
    """
    :param wrapper: The Zoo's ``env_wrapper`` (``None`` when the hyperparameters give none).
    :return: It, then :class:`~sb3_qwr.resume.ResumableEnv` outermost.
    """

    def wrap(env: gym.Env) -> gym.Env:
        return ResumableEnv(env if wrapper is None else wrapper(env))

    return wrap


class RunAlreadyFinished(Exception):
    """``--resume`` found the run finished: nothing is left to train."""


class ResumableExperimentManager(ExperimentManager):
    """
    The Zoo's ``ExperimentManager`` with checkpoints and exact resume. ``checkpoint_freq`` and ``resume_run`` are
    class attributes, set by ``sb3-qwr train`` on a subclass (the Zoo builds its manager from its own arguments).

    :param args: As the Zoo's ``ExperimentManager``.
    :param kwargs: As the Zoo's ``ExperimentManager``.
    """

    #: Environment steps between checkpoints (0: none; on ``--resume`` the stopped run's frequency is kept).
    checkpoint_freq: int = 0
    #: Continue the latest run of the log folder from its checkpoint.
    resume_run: bool = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checkpoint_path: str | None = None
        self.checkpoint_manifest: dict[str, Any] | None = None
        if (self.resume_run or self.checkpoint_freq) and self.algo == "ars":
            raise ValueError(
                "--checkpoint-freq/--resume: ARS evaluates in processes of its own, which a checkpoint does not capture."
            )
        if self.resume_run:
            self._find_run_to_resume()

    def _find_run_to_resume(self) -> None:
        latest = get_latest_run_id(self.log_path, self.env_name)
        if latest == 0:
            print(f"--resume: no run of {self.algo} on {self.env_name} in {self.log_path} yet: starting one.")
            return
        # The Zoo numbers run folders from 1; the latest is the one a stopped command was writing.
        self.save_path = os.path.join(self.log_path, f"{self.env_name}_{latest}")
        self.params_path = f"{self.save_path}/{self.env_name}"
        checkpoint = os.path.join(self.save_path, CHECKPOINT_NAME)
        if not os.path.isfile(checkpoint):
            if os.path.isfile(f"{self.save_path}/{self.env_name}.zip"):
                raise ValueError(
                    f"--resume: {self.save_path} holds a finished model but no checkpoint (it was trained without "
                    "--checkpoint-freq), so there is nothing to resume; drop --resume to start a new run."
                )
            print(f"--resume: {self.save_path} has no checkpoint yet (stopped before the first): starting it again.")
            return
        manifest, _ = read_checkpoint(checkpoint)  # verified now, before any environment is built
        if manifest["num_timesteps"] >= self.n_timesteps and os.path.isfile(f"{self.save_path}/{self.env_name}.zip"):
            raise RunAlreadyFinished(f"--resume: {self.save_path} is finished ({manifest['num_timesteps']} steps).")
        self.checkpoint_path, self.checkpoint_manifest = checkpoint, manifest
        # The model comes from the checkpoint (the Zoo's "continue training" path), and the Monitor log is appended to.
        self.continue_training = True
        self.monitor_kwargs = {**self.monitor_kwargs, "override_existing": False}
        print(f"--resume: continuing {self.save_path} from step {manifest['num_timesteps']}.")

    def create_envs(self, n_envs: int, eval_env: bool = False, no_log: bool = False) -> VecEnv:
        """
        The Zoo's environments; with checkpoints and ``--vec-env subproc``, each environment gets
        :class:`~sb3_qwr.resume.ResumableEnv` as its outermost wrapper, through which the checkpoint reaches it in its
        worker process.

        :param n_envs: As the Zoo's.
        :param eval_env: As the Zoo's.
        :param no_log: As the Zoo's.
        :return: The vectorized environment.
        """
        checkpointing = self.checkpoint_freq > 0 or self.resume_run
        if not (checkpointing and self.vec_env_class is SubprocVecEnv):
            return super().create_envs(n_envs, eval_env, no_log)
        user_wrapper = self.env_wrapper
        self.env_wrapper = _resumable(user_wrapper)
        try:
            return super().create_envs(n_envs, eval_env, no_log)
        finally:
            self.env_wrapper = user_wrapper

    def create_callbacks(self) -> None:
        super().create_callbacks()
        freq = self.checkpoint_freq or (self._stopped_checkpoint_freq() if self.checkpoint_path else 0)
        if freq > 0:
            self.callbacks.append(CheckpointCallback(os.path.join(self.save_path, CHECKPOINT_NAME), freq, self.verbose))

    def _stopped_checkpoint_freq(self) -> int:
        assert self.checkpoint_path is not None
        for state in read_callback_states(self.checkpoint_path):
            if state["class"] == _CALLBACK_CLASS:
                return int(state["attributes"]["save_freq"])
        raise ValueError(f"--resume: {self.checkpoint_path} records no checkpoint callback; give --checkpoint-freq.")

    def _load_pretrained_agent(self, hyperparams: dict[str, Any], env: VecEnv) -> BaseAlgorithm:
        if self.checkpoint_path is None:
            return super()._load_pretrained_agent(hyperparams, env)
        return resume(self.checkpoint_path, env, algorithm=ALGOS[self.algo], device=str(self.device))

    def _save_config(self, saved_hyperparams: dict[str, Any]) -> None:
        if self.checkpoint_path is None:  # a resumed run keeps the stopped run's config, args and command
            super()._save_config(saved_hyperparams)

    def learn(self, model: BaseAlgorithm) -> None:
        if self.checkpoint_path is None:
            super().learn(model)
            return
        assert self.checkpoint_manifest is not None
        if self.checkpoint_manifest["total_timesteps"] != self.n_timesteps:
            stopped_total = self.checkpoint_manifest["total_timesteps"]
            print(
                f"--resume: -n {self.n_timesteps} differs from the stopped run's {stopped_total}: "
                "the learning-rate schedules change, so the result is not the one the stopped run would have had."
            )
        remaining = max(0, self.n_timesteps - model.num_timesteps)
        # The Zoo's learn, continuing the run's step count (and TensorBoard run) instead of starting at 0.
        kwargs: dict[str, Any] = {"reset_num_timesteps": False}
        if self.log_interval > -1:
            kwargs["log_interval"] = self.log_interval
        elif self.log_interval < -1:
            kwargs["log_interval"] = None
        if self.callbacks:
            kwargs["callback"] = self.callbacks
        try:
            model.learn(remaining, **kwargs)
        except KeyboardInterrupt:
            pass  # as the Zoo: the model is saved when training is interrupted
        finally:
            if self.callbacks:
                self.callbacks[0].on_training_end()
            assert model.env is not None
            model.env.close()
