"""
Exact resume through the Zoo: ``sb3-qwr train ... --checkpoint-freq N`` killed by SIGKILL mid-run and continued
with ``--resume`` ends with the same final model, ``evaluations.npz`` and Monitor log as the run that was never
stopped, in the same run folder and TensorBoard run.
"""

import io
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch as th

#: Runs the Zoo, killing itself (SIGKILL) at the given call of the VecEnv's step_wait (training and evaluation).
SCRIPT = """
import os, signal, sys

if __name__ == "__main__":  # SubprocVecEnv's workers import this file again
    from stable_baselines3.common import vec_env

    kill_at, vec_env_class = int(sys.argv[1]), getattr(vec_env, sys.argv[2])
    if kill_at > 0:
        original, calls = vec_env_class.step_wait, [0]

        def step_wait(self):
            calls[0] += 1
            if calls[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return original(self)

        vec_env_class.step_wait = step_wait
    from sb3_qwr.zoo.cli import main

    main(sys.argv[3:])
"""

PARAMS = {
    "qwr": ["n_critic_steps:10", "n_actor_steps:10", "train_freq:100", "batch_size:32", "buffer_size:2000"],
    "sac": ["learning_starts:100", "batch_size:32", "buffer_size:2000"],
}


VEC_ENV_CLASSES = {"dummy": "DummyVecEnv", "subproc": "SubprocVecEnv"}


def zoo(
    tmp_path: Path, algo: str, folder: str, kill_at: int = 0, resume: bool = False, vec_env: str = "dummy"
) -> subprocess.CompletedProcess:
    script = tmp_path / "zoo.py"
    script.write_text(SCRIPT)
    command = [sys.executable, str(script), str(kill_at), VEC_ENV_CLASSES[vec_env], "train", "--algo", algo]
    command += ["--env", "Pendulum-v1", "-n", "800", "--eval-freq", "200", "--eval-episodes", "2", "--seed", "0"]
    command += ["--vec-env", vec_env, "--checkpoint-freq", "300"]
    command += ["-f", str(tmp_path / folder), "--tensorboard-log", str(tmp_path / folder / "tb"), "-params", *PARAMS[algo]]
    if resume:
        command.append("--resume")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(Path.cwd()), *sys.path])}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)


def monitor_rows(run: Path) -> list[list[str]]:
    lines = (run / "0.monitor.csv").read_text().splitlines()
    assert lines[0].startswith("#") and lines[1] == "r,l,t"
    return [line.split(",")[:2] for line in lines[2:]]  # return and length; t is wall time


def policy(run: Path) -> dict[str, th.Tensor]:
    with zipfile.ZipFile(run / "Pendulum-v1.zip") as archive:
        return th.load(io.BytesIO(archive.read("policy.pth")))


@pytest.mark.parametrize(("algo", "vec_env"), [("qwr", "dummy"), ("sac", "dummy"), ("qwr", "subproc")])
def test_zoo_run_killed_and_resumed_equals_straight(algo: str, vec_env: str, tmp_path: Path) -> None:
    # The straight run is started with --resume too: with no run in the folder, --resume starts one.
    straight = zoo(tmp_path, algo, "a", resume=True, vec_env=vec_env)
    assert straight.returncode == 0, straight.stderr[-3000:]
    assert "no run of" in straight.stdout
    # 500 training steps and two evaluations of 2 x 200 steps: killed after the checkpoint at 300 steps and after
    # the Monitor logged the episode ending at 400, which the resumed run logs again.
    killed = zoo(tmp_path, algo, "b", kill_at=1300, vec_env=vec_env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    run_a, run_b = tmp_path / "a" / algo / "Pendulum-v1_1", tmp_path / "b" / algo / "Pendulum-v1_1"
    assert len(monitor_rows(run_b)) == 2 and not (run_b / "Pendulum-v1.zip").exists()
    resumed = zoo(tmp_path, algo, "b", resume=True, vec_env=vec_env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "continuing" in resumed.stdout and "from step 300" in resumed.stdout
    assert sorted(path.name for path in (tmp_path / "b" / algo).iterdir()) == ["Pendulum-v1_1"]  # the same folder
    assert len(list((tmp_path / "b" / "tb" / "Pendulum-v1").iterdir())) == 1  # the same TensorBoard run
    expected, ours = policy(run_a), policy(run_b)
    for key, value in expected.items():
        assert th.equal(value, ours[key]), key
    with np.load(run_a / "evaluations.npz") as first, np.load(run_b / "evaluations.npz") as second:
        assert first.files == second.files
        for key in first.files:
            np.testing.assert_array_equal(first[key], second[key])
        assert list(second["timesteps"]) == [200, 400, 600, 800]
    assert monitor_rows(run_a) == monitor_rows(run_b) and len(monitor_rows(run_a)) == 4
    # Resuming a finished run changes nothing.
    before = (run_b / "Pendulum-v1.zip").read_bytes()
    again = zoo(tmp_path, algo, "b", resume=True, vec_env=vec_env)
    assert again.returncode == 0 and "is finished" in again.stdout, again.stderr[-3000:]
    assert (run_b / "Pendulum-v1.zip").read_bytes() == before


def test_resume_of_a_run_without_checkpoints_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "c" / "qwr" / "Pendulum-v1_1"
    run.mkdir(parents=True)
    (run / "Pendulum-v1.zip").write_bytes(b"")
    result = zoo(tmp_path, "qwr", "c", resume=True)
    assert result.returncode != 0
    assert "no checkpoint" in result.stderr and "--checkpoint-freq" in result.stderr
