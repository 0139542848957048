"""Callbacks of offline training."""

from stable_baselines3.common.callbacks import ProgressBarCallback

try:
    from tqdm.rich import tqdm
except ImportError:  # pragma: no cover - tqdm and rich are dependencies
    tqdm = None


class OfflineProgressBarCallback(ProgressBarCallback):
    """
    A tqdm/rich progress bar over offline training iterations (SB3's ``ProgressBarCallback`` counts
    environment steps, which offline training does not take).

    :param n_iterations: Number of iterations of the bar.
    """

    def __init__(self, n_iterations: int):
        super().__init__()
        self.n_iterations = n_iterations

    def _on_training_start(self) -> None:
        self.pbar = tqdm(total=self.n_iterations)

    def _on_step(self) -> bool:
        self.pbar.update(1)
        return True
