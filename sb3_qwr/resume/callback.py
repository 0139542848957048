"""The callback that writes a run's checkpoint every ``save_freq`` steps."""

import os
from pathlib import Path

from stable_baselines3.common.callbacks import BaseCallback, ProgressBarCallback

from sb3_qwr.resume.checkpoint import save_checkpoint
from sb3_qwr.resume.state import callback_tree, restore_callbacks


class CheckpointCallback(BaseCallback):
    """
    Write a resumable checkpoint (:func:`~sb3_qwr.resume.save_checkpoint`) to one file, replaced atomically, at
    the start of the first collection after every ``save_freq`` environment steps (summed over the envs), and at
    the end of a ``learn`` that reached its budget. The start of a collection is the point where nothing is half
    done: the previous training phase is over and the next step not taken. For QWR and AWR that is once per
    iteration (``train_freq`` steps).

    The checkpoint holds the state of every callback of the same ``learn`` (their counters, an ``EvalCallback``'s
    evaluations so far, best mean reward and evaluation environment). In a resumed run (``resume``), this callback
    restores those states into the resumed ``learn``'s callbacks when training starts: give that ``learn`` the same
    callbacks, in the same order.

    Unlike SB3's ``CheckpointCallback`` (a model file every ``save_freq`` calls, without the replay buffer's
    position in the episode, the random generators or the environments), a run resumed from this file continues
    exactly as if it had not stopped.

    :param path: The checkpoint file.
    :param save_freq: Environment steps between checkpoints. The default, 10K, keeps writing them a small part of
        QWR's training time with its full 50K buffer on the CPU (``benchmarks/RESULTS.md``, "What a checkpoint
        costs"); on a GPU, where an Atari iteration is much faster, give 20K or more there.
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

    def _learn_callbacks(self) -> list[BaseCallback]:
        # SB3's learn passes its locals to on_training_start: "callback" is the CallbackList this callback is in.
        callback = self.locals.get("callback")
        return [callback] if isinstance(callback, BaseCallback) else [self]

    def _on_training_start(self) -> None:
        states = getattr(self.model, "checkpoint_callback_states", None)
        if states is not None:
            restore_callbacks(self._learn_callbacks(), states)
            self.model.checkpoint_callback_states = None  # type: ignore[attr-defined]  # once, not at a later learn
            for callback in callback_tree(self._learn_callbacks()):
                bar = getattr(callback, "pbar", None)
                if isinstance(callback, ProgressBarCallback) and bar is not None:
                    bar.reset(total=self.model._total_timesteps)  # the whole run, from where it stopped
                    bar.update(self.model.num_timesteps)

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
        save_checkpoint(self.model, self.path, self._learn_callbacks())
        self.last_saved = self.model.num_timesteps
        if self.verbose >= 1:
            print(f"Checkpoint at {self.model.num_timesteps} steps: {self.path}")
