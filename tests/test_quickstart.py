"""The quick start (``python -m sb3_qwr``): its task, its "solved" line, its options."""

import pytest

from sb3_qwr.__main__ import main, solved_threshold


def test_solved_thresholds():
    assert solved_threshold("InvertedPendulum-v5") == 950.0  # gymnasium's reward_threshold
    assert solved_threshold("Pendulum-v1") == -200.0  # no threshold in its spec: the usual value
    assert solved_threshold("HalfCheetah-v5") == 4800.0
    assert solved_threshold("MountainCarContinuous-v0") == 90.0


def test_quickstart_prints_return_and_threshold(capsys, tmp_path):
    # Fewer steps than one iteration (train_freq=1000): no update, but every line the user sees is printed.
    main(["--timesteps", "300", "--eval-episodes", "2", "--no-progress-bar", "--save", str(tmp_path / "m.zip")])
    out = capsys.readouterr().out
    assert out.startswith("QWR on InvertedPendulum-v5: 300 steps in ")
    assert "evaluation return" in out and "over 2 episodes" in out and "solved from 950" in out
    assert "(solved)" in out or "(not solved)" in out
    assert (tmp_path / "m.zip").is_file()


def test_quickstart_rejects_unknown_precision():
    with pytest.raises(SystemExit):
        main(["--precision", "fp16"])
