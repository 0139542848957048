"""The quick start (``python -m sb3_qwr``): its task, its "solved" line, its options."""

import functools

import numpy as np
import pytest

import sb3_qwr.__main__ as quickstart
from sb3_qwr import QWR
from sb3_qwr.__main__ import CheckpointEvaluation, main, solved_threshold


def test_solved_thresholds():
    assert solved_threshold("InvertedPendulum-v5") == 950.0  # gymnasium's reward_threshold
    assert solved_threshold("Pendulum-v1") == -200.0  # no threshold in its spec: the usual value
    assert solved_threshold("HalfCheetah-v5") == 4800.0
    assert solved_threshold("MountainCarContinuous-v0") == 90.0


def test_quickstart_prints_return_and_threshold(capsys, tmp_path, monkeypatch):
    # Small iterations (the defaults' 1000 + 1000 updates per 1000 steps would take a minute).
    monkeypatch.setattr(quickstart, "QWR", functools.partial(QWR, train_freq=100, n_critic_steps=2, n_actor_steps=2))
    argv = ["--timesteps", "300", "--eval-episodes", "2", "--no-progress-bar", "--save", str(tmp_path / "m.zip")]
    main([*argv, "--eval-freq", "100", "--checkpoint-episodes", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["  100 steps", "  200 steps", "  300 steps"]
    assert lines[3].startswith("QWR on InvertedPendulum-v5: 300 steps in ")
    assert "evaluation return" in lines[3] and "over 2 episodes" in lines[3] and "solved from 950" in lines[3]
    assert "(solved)" in lines[3] or "(not solved)" in lines[3]
    assert (tmp_path / "m.zip").is_file()
    # A best checkpoint before the end is evaluated again and saved.
    if len(lines) > 4:
        assert lines[4].startswith("QWR best checkpoint (") and (tmp_path / "m_best.zip").is_file()


def test_checkpoint_evaluation_keeps_the_best(capsys):
    model = QWR("MlpPolicy", "InvertedPendulum-v5", seed=0, n_critic_steps=1, n_actor_steps=1, train_freq=100)
    callback = CheckpointEvaluation("InvertedPendulum-v5", eval_freq=100, episodes=1, seed=0)
    model.learn(300, callback=callback)
    returns = [float(line.split("return ")[1].split()[0]) for line in capsys.readouterr().out.splitlines()]
    assert len(returns) == 3 and callback.best_return == pytest.approx(max(returns), abs=0.05)
    assert callback.best_timesteps == 100 * (1 + int(np.argmax(returns)))
    assert callback.best_state is not None and callback.best_state.keys() == model.policy.state_dict().keys()


def test_quickstart_rejects_unknown_precision():
    with pytest.raises(SystemExit):
        main(["--precision", "fp16"])
