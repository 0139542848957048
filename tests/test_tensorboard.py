"""TensorBoard: the event files of ``tensorboard_log=...`` and of the Zoo's ``-tb`` hold QWR's metrics."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sb3_qwr import QWR

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator", reason="pip install -e '.[tensorboard]'"
)

EXPECTED_TAGS = {
    "train/critic_loss",
    "train/actor_loss",
    "train/q_mean",
    "train/target_mean",
    "train/advantage_weight_mean",
    "rollout/ep_rew_mean",
    "rollout/ep_len_mean",
    "time/fps",
}


def scalars(run_dir: Path) -> dict[str, list[float]]:
    """Every scalar series of the event files in ``run_dir``."""
    accumulator = event_accumulator.EventAccumulator(str(run_dir))
    accumulator.Reload()
    return {tag: [event.value for event in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}


def test_tensorboard_log_has_the_metrics(tmp_path: Path):
    model = QWR(
        "MlpPolicy",
        "Pendulum-v1",
        tensorboard_log=str(tmp_path),
        train_freq=200,
        n_critic_steps=5,
        n_actor_steps=5,
        batch_size=32,
        seed=0,
    )
    model.learn(1000, log_interval=1)  # 5 episodes of 200 steps, a dump after each
    runs = sorted(tmp_path.glob("QWR_*"))
    assert [run.name for run in runs] == ["QWR_1"]
    series = scalars(runs[0])
    assert set(series) >= EXPECTED_TAGS, sorted(series)
    assert len(series["train/critic_loss"]) >= 4
    assert all(math.isfinite(value) for value in series["train/critic_loss"] + series["train/actor_loss"])


def test_zoo_tb_flag_writes_the_metrics(tmp_path: Path):
    args = ["train", "--algo", "qwr", "--env", "Pendulum-v1", "-f", str(tmp_path / "logs"), "-n", "600", "--log-interval", "1"]
    args += ["-tb", str(tmp_path / "tb"), "--seed", "0", "-params", "n_critic_steps:5", "n_actor_steps:5"]
    args += ["train_freq:200", "batch_size:32"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-m", "sb3_qwr.zoo", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    runs = sorted((tmp_path / "tb").rglob("QWR_*"))
    assert runs, sorted(str(p) for p in (tmp_path / "tb").rglob("*"))
    series = scalars(runs[0])
    assert {"train/critic_loss", "train/actor_loss", "train/q_mean", "rollout/ep_rew_mean"} <= set(series), sorted(series)
