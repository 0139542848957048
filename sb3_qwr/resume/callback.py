"""The callback that writes a run's checkpoint every ``save_freq`` steps."""

import os
from pathlib import Path

from stable_baselines3.common.callbacks import BaseCallback

from sb3_qwr.resume.checkpoint import save_checkpoint


class CheckpointCallback(BaseCallback):
    """
    Write a resumable checkpoint (:func:`~sb3_qwr.resume.save_checkpoint`) to one file, replaced atomically, at
    the start of the first collection after every ``save_freq`` environment steps (summed over the envs), and at
    the end of a ``learn`` that reached its budget. The start of a collection is the point where nothing is half
    done: the previous training phase is over and the next step not taken. For QWR and AWR that is once per
    iteration (``train_freq`` steps).

    Unlike SB3's ``CheckpointCallback`` (a model file every ``save_freq`` calls, without the replay buffer's
    position in the episode, the random generators or the environments), a run resumed from this file continues
    exactly as if it had not stopped.

    :param path: The checkpoint file.
    :param save_freq: Environment steps between checkpoints.
    :param verbose: 1 to print each checkpoint written.
    """

    def __init__(self, path: str | os.PathLike, save_freq: int = 10_000, verbose: int = 0) -> None:
        if not isinstance(save_freq, int) or isinstance(save_freq, bool) or save_freq < 1:
            raise ValueError(f"save_freq must be a positive number of environment steps, got {save_freq!r}")
        super().__init__(verbose)
        self.path = Path(path)
        self.save_freq = save_freq
        self.last_saved = 0

    def _init_callback(self) -> None:
        # A fresh run starts at 0; a resumed one at its checkpoint, which need not be written again.
        self.last_saved = self.model.num_timesteps

    def _on_rollout_start(self) -> None:
        if self.model.num_timesteps - self.last_saved >= self.save_freq:
            self.save()

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        # Only a run that reached its budget ends at a clean point; one stopped by a callback stopped mid-step.
        finished = self.model.num_timesteps >= self.model._total_timesteps
        if finished and self.model.num_timesteps != self.last_saved:
            self.save()

    def save(self) -> None:
        """Write the checkpoint now."""
        save_checkpoint(self.model, self.path)
        self.last_saved = self.model.num_timesteps
        if self.verbose >= 1:
            print(f"Checkpoint at {self.model.num_timesteps} steps: {self.path}")
