"""benchmarks.run and benchmarks.suites (suites, summaries, resuming), benchmarks.report (statistics, RESULTS.md markers)."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch as th

from benchmarks import bitflip, offline, report, run
from benchmarks import bitflip_cloning as cloning
from benchmarks.lib import records as lib_records
from benchmarks.lib import tables


def test_suites_expand():
    mujoco = run.expand_suite(run.SUITES["mujoco100k"])
    assert len(mujoco) == 4 * 5 * 5
    assert {spec.variant for spec in mujoco} == {"qwr-lse", "qwr-max", "qwr-avg", "sac", "ppo"}
    assert {spec.seed for spec in mujoco} == set(range(5))
    assert all(spec.n_timesteps == 100_000 and spec.eval_freq == 10_000 and spec.eval_episodes == 10 for spec in mujoco)
    by_variant = {spec.variant: spec for spec in mujoco}
    assert by_variant["qwr-lse"].algo == "qwr" and by_variant["qwr-lse"].params == ("backup:'lse'",)
    assert by_variant["qwr-max"].params == ("backup:'max'",)
    assert by_variant["qwr-avg"].params == ("backup:'mean'",)
    assert by_variant["sac"].algo == "sac" and by_variant["sac"].params == ()

    atari = run.expand_suite(run.SUITES["atari100k"])
    assert len(atari) == 6 * 3 * 5
    assert {spec.algo for spec in atari} == {"qwr", "ppo", "dqn"}
    assert {spec.params for spec in atari if spec.algo == "dqn"} == {("learning_starts:1600",)}

    one_m = run.expand_suite(run.SUITES["mujoco1m"], variants=["qwr-lse"], envs=["Hopper-v5"], seeds=[3])
    assert len(one_m) == 1
    assert one_m[0].params == ("backup:'lse'", "backup_temperature:1.0", "backup_scale:'std'")
    assert one_m[0].n_timesteps == 1_000_000 and one_m[0].seed == 3

    smoke = run.expand_suite(run.SUITES["smoke"])
    assert len(smoke) == 2 * 5
    pong = [spec for spec in smoke if spec.env == "PongNoFrameskip-v4"]
    assert {spec.variant for spec in pong} == {"qwr-lse"}
    assert pong[0].n_timesteps == 1000
    # The env-specific buffer size replaces the suite's in place.
    assert [p for p in pong[0].params if p.startswith("buffer_size")] == ["buffer_size:1000"]

    # An ablation's extra -params come last and replace an entry of the same key.
    ablation = run.expand_suite(
        run.SUITES["mujoco1m"], ["qwr-lse"], ["Hopper-v5"], [0], ("backup_scale:'mad'", "policy_kwargs:dict(a=1)")
    )
    assert ablation[0].params == ("backup:'lse'", "backup_temperature:1.0", "backup_scale:'mad'", "policy_kwargs:dict(a=1)")
    with pytest.raises(SystemExit):  # an ablation's summaries must not land among the suite's
        run.parse_args(["mujoco100k", "--params", "policy_kwargs:dict(a=1)"])
    args = run.parse_args(["mujoco100k", "--params", "policy_kwargs:dict(a=1)", "--results-dir", "elsewhere"])
    assert args.params == ["policy_kwargs:dict(a=1)"]
    # A declared ablation (suites.ABLATIONS) gets its own results and logs; only for the suite it changes.
    args = run.parse_args(["mujoco100k", "--ablation", "mujoco100k_head_init", "--params", "policy_kwargs:dict(a=1)"])
    assert (
        args.results_dir == run.RESULTS_DIR / "mujoco100k_head_init" and args.runs_dir == run.RUNS_DIR / "mujoco100k_head_init"
    )
    with pytest.raises(SystemExit):
        run.parse_args(["mujoco1m", "--ablation", "mujoco100k_head_init"])

    with pytest.raises(ValueError):
        run.expand_suite(run.SUITES["mujoco100k"], variants=["nope"])
    with pytest.raises(ValueError):
        run.expand_suite(run.SUITES["mujoco100k"], envs=["PongNoFrameskip-v4"])


def test_train_command(tmp_path):
    spec = run.expand_suite(run.SUITES["mujoco100k"], variants=["qwr-max"], envs=["Walker2d-v5"], seeds=[2])[0]
    assert spec.name == "qwr-max__Walker2d-v5__seed2"
    command = spec.train_command(tmp_path, device="cuda")
    assert command[1:4] == ["-m", "sb3_qwr.zoo", "train"]
    assert command[-3:-2] == ["--resume"]  # an interrupted training continues from its checkpoint
    flags = dict(zip(command[4:-3:2], command[5:-3:2], strict=False))
    assert flags["--checkpoint-freq"] == "10000"
    assert flags["--algo"] == "qwr" and flags["--env"] == "Walker2d-v5" and flags["--seed"] == "2"
    assert flags["-f"] == str(tmp_path / "mujoco100k" / spec.name)
    assert flags["--eval-freq"] == "10000" and flags["--eval-episodes"] == "10" and flags["-n"] == "100000"
    assert flags["--device"] == "cuda"
    assert command[-2:] == ["-params", "backup:'max'"]
    assert spec.summary_path(tmp_path) == tmp_path / "mujoco100k" / f"{spec.name}.json"


def _fabricate_run(spec, runs_dir: Path, num_timesteps: int = 3000) -> np.ndarray:
    """A trained and evaluated run folder as execute_run leaves it before the summary."""
    folder = spec.log_folder(runs_dir)
    zoo_dir = folder / spec.algo / f"{spec.env}_1"
    zoo_dir.mkdir(parents=True)
    with zipfile.ZipFile(zoo_dir / f"{spec.env}.zip", "w") as archive:
        archive.writestr("data", json.dumps({"num_timesteps": num_timesteps}))
    results = np.array([[1.0, 3.0], [10.0, 20.0], [100.0, 300.0]])
    np.savez(
        zoo_dir / "evaluations.npz",
        timesteps=np.array([1000, 2000, 3000]),
        results=results,
        ep_lengths=np.array([[5, 7], [10, 10], [200, 200]]),
    )
    timing = {"train_wall_time_s": 30.0, "started": "a", "finished": "b", "command": ["python", "-m", "sb3_qwr.zoo"]}
    (folder / "timing.json").write_text(json.dumps(timing))
    final = {
        "returns": [400.0, 600.0],
        "lengths": [1000, 1000],
        "mean": 500.0,
        "std": 100.0,
        "deterministic": True,
        "wall_time_s": 2.0,
        "machine": {"platform": "test", "cpu_count": 2, "torch_threads": 1, "gpu": None},
    }
    (folder / "final_eval.json").write_text(json.dumps(final))
    return results


def test_summary_from_run_folder(tmp_path, monkeypatch):
    runs_dir, results_dir = tmp_path / "runs", tmp_path / "results"
    spec = run.expand_suite(run.SUITES["smoke"], variants=["qwr-lse"], envs=["Hopper-v5"], seeds=[0])[0]
    _fabricate_run(spec, runs_dir)

    def no_subprocess(*args, **kwargs):
        raise AssertionError("a finished stage ran again")

    monkeypatch.setattr(run, "call_child", no_subprocess)
    assert not run.is_finished(spec, results_dir)
    summary = run.execute_run(spec, runs_dir, results_dir)
    assert run.is_finished(spec, results_dir)
    assert json.loads(spec.summary_path(results_dir).read_text()) == summary
    assert summary["suite"] == "smoke" and summary["variant"] == "qwr-lse" and summary["algo"] == "qwr"
    assert summary["env"] == "Hopper-v5" and summary["seed"] == 0 and summary["n_timesteps"] == 3000
    assert summary["final_eval"]["mean"] == 500.0 and summary["final_eval"]["returns"] == [400.0, 600.0]
    checkpoints = summary["checkpoint_evals"]
    assert checkpoints["timesteps"] == [1000, 2000, 3000]
    assert checkpoints["mean"] == [2.0, 15.0, 200.0]
    assert checkpoints["std"] == [1.0, 5.0, 100.0]
    assert checkpoints["returns"][2] == [100.0, 300.0]
    assert checkpoints["mean_lengths"] == [6.0, 10.0, 200.0]
    assert summary["train_wall_time_s"] == 30.0 and summary["steps_per_s"] == 100.0
    assert summary["machine"]["torch_threads"] == 1
    assert summary["versions"]["stable-baselines3"] is not None
    assert summary["run_dir"].endswith("qwr/Hopper-v5_1")


def test_finished_runs_are_skipped(tmp_path, monkeypatch):
    runs_dir, results_dir = tmp_path / "runs", tmp_path / "results"
    specs = run.expand_suite(run.SUITES["smoke"], variants=["sac"], envs=["Pendulum-v1"])
    done, todo = specs
    done.summary_path(results_dir).parent.mkdir(parents=True)
    done.summary_path(results_dir).write_text("{}")
    executed = []

    def fake_execute(spec, runs_dir, results_dir, device):
        executed.append(spec.name)
        return {"final_eval": {"mean": 1.0}, "train_wall_time_s": 1.0, "steps_per_s": 3000.0}

    monkeypatch.setattr(run, "execute_run", fake_execute)
    failed = run.run_suite(specs, jobs=2, runs_dir=runs_dir, results_dir=results_dir)
    assert failed == [] and executed == [todo.name]


def test_deadline_defers_runs_that_would_not_end_in_time(tmp_path, monkeypatch, capsys):
    from datetime import datetime, timedelta

    runs_dir, results_dir = tmp_path / "runs", tmp_path / "results"
    mujoco = run.SUITES["mujoco100k"]
    spec_of = {
        (s.variant, s.env, s.seed): s for s in run.expand_suite(mujoco, ["qwr-lse", "sac"], ["Hopper-v5", "Walker2d-v5"])
    }
    folder = results_dir / "mujoco100k"
    folder.mkdir(parents=True)
    for (variant, env, seed), seconds in {
        ("qwr-lse", "Hopper-v5", 0): 3000.0,
        ("qwr-lse", "Hopper-v5", 1): 3400.0,
        ("qwr-lse", "Walker2d-v5", 0): 9000.0,
        ("sac", "Hopper-v5", 0): 1500.0,
    }.items():
        summary = _summary("mujoco100k", variant, env, seed, 1.0)
        summary.update(train_wall_time_s=seconds, final_eval_wall_time_s=0.0)
        spec_of[(variant, env, seed)].summary_path(results_dir).write_text(json.dumps(summary))
    (folder / "qwr-lse__Hopper-v5__seed4.json").write_text("not json")  # unreadable summaries are ignored
    # Same variant and env first (median of 3000 and 3400), then the variant on any env, else unknown.
    assert run.expected_duration(spec_of[("qwr-lse", "Hopper-v5", 2)], results_dir) == 3200.0
    assert run.expected_duration(spec_of[("sac", "Walker2d-v5", 0)], results_dir) == 1500.0
    ppo = run.expand_suite(mujoco, ["ppo"], ["Hopper-v5"], [0])[0]
    assert run.expected_duration(ppo, results_dir) is None

    executed = []

    def fake_execute(spec, runs_dir, results_dir, device):
        executed.append(spec.name)
        return {"final_eval": {"mean": 1.0}, "train_wall_time_s": 1.0, "steps_per_s": 3000.0}

    monkeypatch.setattr(run, "execute_run", fake_execute)
    todo = [spec_of[("qwr-lse", "Hopper-v5", 2)], spec_of[("sac", "Walker2d-v5", 0)], ppo]  # ppo: unknown, starts
    deadline = datetime.now().astimezone() + timedelta(seconds=2000)  # QWR (3200 s) does not fit, SAC (1500 s) does
    failed = run.run_suite(todo, runs_dir=runs_dir, results_dir=results_dir, deadline=deadline)
    assert failed == [] and executed == ["sac__Walker2d-v5__seed0", "ppo__Hopper-v5__seed0"]
    out = capsys.readouterr().out
    assert "deferred qwr-lse__Hopper-v5__seed2 expected 0:53:20" in out and "deferred 1" in out
    assert "rerun the command" in out


def test_parse_deadline():
    from datetime import datetime, timezone

    now = datetime(2026, 11, 28, 12, 0).astimezone()  # local time, as the clock form of --deadline
    assert (run.parse_deadline("13:10", now) - now).total_seconds() == 70 * 60
    assert (run.parse_deadline("11:00", now) - now).total_seconds() == 23 * 3600  # already past: tomorrow
    assert run.parse_deadline("2026-11-29T08:00+00:00", now) == datetime(2026, 11, 29, 8, 0, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="HH:MM"):
        run.parse_deadline("soon", now)
    with pytest.raises(SystemExit):
        run.parse_args(["mujoco100k", "--deadline", "25:99"])


def test_interrupted_training_restarts(tmp_path, monkeypatch):
    runs_dir, results_dir = tmp_path / "runs", tmp_path / "results"
    spec = run.expand_suite(run.SUITES["smoke"], variants=["sac"], envs=["Pendulum-v1"], seeds=[0])[0]
    stale = spec.log_folder(runs_dir) / "sac" / "Pendulum-v1_1"
    stale.mkdir(parents=True)  # no final model: training was interrupted
    calls = []

    def failing_call(command, *args, **kwargs):
        calls.append(command)
        return 1

    monkeypatch.setattr(run, "call_child", failing_call)
    with pytest.raises(run.RunFailed):
        run.execute_run(spec, runs_dir, results_dir)
    assert not stale.exists()  # the interrupted run's folder was cleared before training again
    assert calls[0][1:4] == ["-m", "sb3_qwr.zoo", "train"]


def test_interrupted_training_with_a_checkpoint_resumes(tmp_path, monkeypatch):
    runs_dir, results_dir = tmp_path / "runs", tmp_path / "results"
    spec = run.expand_suite(run.SUITES["smoke"], variants=["sac"], envs=["Pendulum-v1"], seeds=[0])[0]
    folder = spec.log_folder(runs_dir)
    zoo_dir = folder / "sac" / "Pendulum-v1_1"
    zoo_dir.mkdir(parents=True)
    (zoo_dir / "checkpoint.zip").write_bytes(b"checkpoint")
    (folder / "train_segments.json").write_text('[{"started": "t0", "start_epoch": 0.0, "seconds": null}]')
    (folder / "train.log").write_text("first segment\n")
    monkeypatch.setattr(run, "call_child", lambda command, *args, **kwargs: 1)
    with pytest.raises(run.RunFailed):
        run.execute_run(spec, runs_dir, results_dir)
    assert (zoo_dir / "checkpoint.zip").is_file()  # kept for the resume, not cleared
    assert (folder / "train.log").read_text().startswith("first segment")  # appended to
    segments = json.loads((folder / "train_segments.json").read_text())
    assert len(segments) == 2 and segments[0]["stopped"] and segments[0]["seconds"] > 0


def test_incomplete_model_trains_again(tmp_path, monkeypatch):
    runs_dir, results_dir = tmp_path / "runs", tmp_path / "results"
    spec = run.expand_suite(run.SUITES["smoke"], variants=["qwr-lse"], envs=["Pendulum-v1"], seeds=[0])[0]
    _fabricate_run(spec, runs_dir, num_timesteps=1000)  # saved by the Zoo after an interrupt
    assert run.trained_timesteps(run.find_zoo_run_dir(spec, runs_dir), spec.env) == 1000
    calls = []

    def fake_train(command, *args, **kwargs):
        calls.append(command)
        _fabricate_run(spec, runs_dir, num_timesteps=2000)  # interrupted again
        (spec.log_folder(runs_dir) / "timing.json").unlink()  # written by run.py, not by the Zoo
        return 0

    monkeypatch.setattr(run, "call_child", fake_train)
    with pytest.raises(run.RunFailed, match="stopped at 2000 of 3000"):
        run.execute_run(spec, runs_dir, results_dir)
    assert len(calls) == 1 and calls[0][3] == "train"
    assert not (spec.log_folder(runs_dir) / "timing.json").exists() and not run.is_finished(spec, results_dir)


def _summary(suite, variant, env, seed, score, n_timesteps=100_000, extra_params=()):
    return {
        "suite": suite,
        "variant": variant,
        "algo": run.VARIANTS[variant].algo,
        "params": [*run.VARIANTS[variant].params, *extra_params],
        "env": env,
        "seed": seed,
        "n_timesteps": n_timesteps,
        "final_eval": {"mean": score},
        "checkpoint_evals": {"timesteps": [50_000, 100_000], "mean": [score / 2, score]},
        "steps_per_s": 50.0,
        "machine": {"platform": "test", "cpu_count": 2, "torch_threads": 1, "gpu": None},
        "versions": {"torch": "x"},
    }


def _table_rows(section: str) -> dict[tuple[str, ...], str]:
    """The lines of a markdown table, keyed by their first two cells (environment, algorithm)."""
    return {tuple(cell.strip() for cell in line.strip("|").split("|")[:2]): line for line in section.splitlines()}


def test_statistics():
    assert report.median_half_iqr([1, 2, 3, 4, 100]) == (3.0, 1.0)
    assert report.median_half_iqr([7.0]) == (7.0, 0.0)
    iqm, low, high = report.iqm_interval([1, 2, 3, 4, 5, 6, 7, 8])
    assert iqm == pytest.approx(4.5)
    assert low is not None and high is not None and low <= iqm <= high
    assert report.iqm_interval([5.0])[1:] == (None, None)


def test_iqm_interval_depends_only_on_its_scores():
    # rliable resamples with NumPy's global generator: the interval must not change with its state, and the
    # caller's global state must come back untouched.
    scores = [358.8, 687.9, 315.6, 460.9, 513.8]
    intervals = set()
    for global_seed in range(4):
        np.random.seed(global_seed)
        intervals.add(report.iqm_interval(scores, reps=200))
    assert len(intervals) == 1
    np.random.seed(123)
    expected = np.random.random(3)
    np.random.seed(123)
    report.iqm_interval(scores, reps=200)
    np.testing.assert_array_equal(np.random.random(3), expected)


def test_report_table_and_markers(tmp_path):
    results_dir = tmp_path / "results"
    for seed, score in enumerate([1000.0, 2000.0, 3000.0, 4000.0, 10000.0]):
        summary = _summary("mujoco100k", "qwr-lse", "Hopper-v5", seed, score)
        if seed == 4:  # the checkpoint at the last step, before the last training phase, differs from the final model
            summary["checkpoint_evals"]["mean"][-1] = 500.0
        path = results_dir / "mujoco100k" / f"qwr-lse__Hopper-v5__seed{seed}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary))
    smoke = _summary("smoke", "sac", "Pendulum-v1", 0, -900.0, n_timesteps=3000)
    (results_dir / "smoke").mkdir()
    (results_dir / "smoke" / "sac__Pendulum-v1__seed0.json").write_text(json.dumps(smoke))
    for seed, score in enumerate([-21.0, -20.0]):
        pong = _summary("smoke", "qwr-lse", "PongNoFrameskip-v4", seed, score, n_timesteps=1000)
        (results_dir / "smoke" / f"qwr-lse__PongNoFrameskip-v4__seed{seed}.json").write_text(json.dumps(pong))

    # An ablation (run.py --params ... --results-dir results/mujoco100k_head_init) of seeds 0 and 2: a results root.
    for seed, score in [(0, 1500.0), (2, 2500.0)]:
        ablation = _summary("mujoco100k", "qwr-lse", "Hopper-v5", seed, score, extra_params=["policy_kwargs:dict(a=1)"])
        if seed == 2:  # no checkpoint evaluation at the last step
            ablation["checkpoint_evals"] = {"timesteps": [50_000], "mean": [1.0]}
        path = results_dir / "mujoco100k_head_init" / "mujoco100k" / f"qwr-lse__Hopper-v5__seed{seed}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(ablation))
    (results_dir / "other_folder").mkdir()  # summaries not under a suite's folder: not an ablation
    (results_dir / "other_folder" / "x.json").write_text(json.dumps(_summary("mujoco100k", "sac", "Hopper-v5", 0, 1.0)))
    undeclared = results_dir / "mujoco100k_undeclared" / "mujoco100k"  # laid out as one, not in suites.ABLATIONS
    undeclared.mkdir(parents=True)
    (undeclared / "sac__Hopper-v5__seed0.json").write_text(json.dumps(_summary("mujoco100k", "sac", "Hopper-v5", 0, 1.0)))

    output = tmp_path / "RESULTS.md"
    before = "# Results\n\nIntro kept.\n\n"
    after = "\n\n## Speed\n\nSpeed table kept.\n"
    output.write_text(f"{before}{report.BEGIN_MARKER}\nold generated text\n{report.END_MARKER}{after}")
    report.main(
        ["--results-dir", str(results_dir), "--output", str(output), "--curves-dir", str(tmp_path / "figures" / "curves")]
    )
    text = output.read_text()
    assert text.startswith(before) and text.endswith(after)
    assert "old generated text" not in text
    mujoco_text = text[text.index("### mujoco100k") : text.index("### atari100k")]
    rows = _table_rows(mujoco_text)
    hopper = rows[("Hopper-v5", "QWR-LSE")]
    assert "| 3000 ± 1000 |" in hopper  # median 3000, quartiles 2000 and 4000
    assert "| 1758 ± 735 | 5 | 100000 |" in hopper
    assert hopper.endswith("| — | 2000 ± 1000 |")  # last checkpoints 1000, 2000, 3000, 4000 and 500
    assert "not run" in rows[("Hopper-v5", "SAC")] and "| 1197 ± 175 |" in rows[("Hopper-v5", "SAC")]
    assert "not run" in rows[("HalfCheetah-v5", "QWR-LSE")] and "| 2323 ± 332 |" in rows[("HalfCheetah-v5", "QWR-LSE")]
    assert "| -14 ± 98 |" in rows[("Walker2d-v5", "PPO")]
    # Suites too large for the CPU machines say so, and show the smoke run where one exists.
    atari_text = text[text.index("### atari100k") : text.index("### mujoco1m")]
    assert "**Not run on this project's CPU machines**: with the paper's 1000 + 1000 updates" in atari_text
    atari_rows = _table_rows(atari_text)
    pong = atari_rows[("PongNoFrameskip-v4", "QWR-LSE")]
    assert "| not run here; smoke run: -20.5 (2 seeds, 1000 steps) | not run | -7.6 | 0 |" in pong
    assert "| not run here | not run | -20.5 | 0 |" in atari_rows[("PongNoFrameskip-v4", "PPO")]
    assert "| not run here | not run | 308 | 0 |" in atari_rows[("SeaquestNoFrameskip-v4", "QWR-LSE")]
    assert "Not run on this project's CPU machines" not in mujoco_text
    smoke_text = text[text.index("### smoke") : text.index("### Ablations")]
    ablation_rows = _table_rows(text[text.index("### Ablations") :])
    assert ablation_rows[("mujoco100k_head_init", "Hopper-v5")] == (
        "| mujoco100k_head_init | Hopper-v5 | QWR-LSE | output layers initialized in [-0.01, 0.01] "
        "| `policy_kwargs:dict(a=1)` | s0 1500.0, s2 2500.0 | 2000 ± 250 "
        "| s0 1000.0, s2 3000.0 | 2000 ± 500 | 1500 ± 0.0 (1 seed) / 2000 ± 500 |"
    )
    assert "| not run | not run | 2323 ± 332 | 0 | 100000 | — | — | — |" in rows[("HalfCheetah-v5", "QWR-LSE")]
    assert "other_folder" not in text and "mujoco100k_undeclared" not in text
    smoke_rows = _table_rows(smoke_text)
    assert "(smoke)" in smoke_rows[("Pendulum-v1", "SAC")] and "-900" in smoke_rows[("Pendulum-v1", "SAC")]
    assert "not run" in smoke_rows[("Hopper-v5", "QWR-LSE")] and "smoke run" in smoke_rows[("Hopper-v5", "SAC")]
    assert "(smoke)" in smoke_rows[("PongNoFrameskip-v4", "QWR-LSE")]
    assert (tmp_path / "figures" / "curves" / "mujoco100k" / "Hopper-v5.png").is_file()
    assert "(figures/curves/mujoco100k/Hopper-v5.png)" in text

    # Run again: the block is replaced, not duplicated; a file without markers gets the block appended.
    report.main(["--results-dir", str(results_dir), "--output", str(output), "--no-plots"])
    assert output.read_text().count(report.BEGIN_MARKER) == 1
    other = tmp_path / "OTHER.md"
    other.write_text("# Other\n\nText.\n")
    report.main(["--results-dir", str(results_dir), "--output", str(other), "--no-plots"])
    assert other.read_text().startswith("# Other\n\nText.\n\n" + report.BEGIN_MARKER)


def test_offline_behaviour_models(tmp_path):
    pairs = offline.parse_models(["good=a/best_model.zip", "b/Hopper-v5.zip"])
    assert pairs == [("good", Path("a/best_model.zip")), ("01_Hopper-v5", Path("b/Hopper-v5.zip"))]
    with pytest.raises(ValueError, match="unique"):
        offline.parse_models(["x=a.zip", "x=b.zip"])
    with pytest.raises(SystemExit):  # the models are environment-specific
        offline.main(
            ["--envs", "Hopper-v5", "Walker2d-v5", "--behaviour-models", "a.zip", "--results", str(tmp_path / "r.json")]
        )
    args = offline.argparse.Namespace(
        behaviour_models=["good=a.zip"],
        checkpoints=[1],
        episodes=2,
        random_episodes=1,
        noise=0.1,
        iterations=3,
        critic_steps=4,
        actor_steps=5,
        eval_episodes=6,
        action_std=None,
        min_steps=0,
    )
    settings = offline.settings_of(args)
    assert settings["behaviour_models"] == ["good"] and "action_std" not in settings  # the paper's mu
    args.action_std, args.min_steps = 0.1, 500
    assert offline.settings_of(args)["action_std"] == 0.1 and offline.settings_of(args)["min_steps"] == 500
    results = {
        "profiles": {
            "p": {
                "settings": settings,
                "envs": {
                    "Hopper-v5": {
                        "dataset": {"episodes": 3, "steps": 30, "average_return": 12.0},
                        "runs": [{"algo": "qwr", "seed": s, "return": float(s)} for s in range(4)],
                    }
                },
            }
        }
    }
    table = offline.markdown_table(results)
    assert "saved SAC models good" in table and "| p | Hopper-v5 | 3, 30 | 12 | 2 (1 to 2, 4) |" in table


def test_offline_learning_curve_leaves_the_run_unchanged(tmp_path):
    """--eval-every scores the model during training; the trained model and its final score stay the same."""
    from stable_baselines3 import SAC

    from sb3_qwr.datasets import make_dataset

    SAC("MlpPolicy", "Pendulum-v1", seed=0).save(tmp_path / "sac.zip")
    make_dataset(
        "Pendulum-v1",
        "pendulum/tiny-v0",
        policies=[tmp_path / "sac.zip"],
        episodes=1,
        random_episodes=1,
        root=tmp_path / "p" / "minari",
        verbose=0,
    )
    args = offline.argparse.Namespace(
        work_dir=tmp_path, profile="p", iterations=3, critic_steps=2, actor_steps=2, eval_episodes=1, device="cpu",
        action_std=0.3, threads=1, eval_every=0,
    )  # fmt: skip
    plain = offline.run_one("Pendulum-v1", "qwr", 0, "pendulum/tiny-v0", args)
    assert "curve" not in plain
    args.eval_every = 2
    with_curve = offline.run_one("Pendulum-v1", "qwr", 0, "pendulum/tiny-v0", args)
    assert with_curve["episode_returns"] == plain["episode_returns"]
    assert [point["iteration"] for point in with_curve["curve"]] == [2, 3]
    assert with_curve["curve"][-1]["return"] == plain["return"]


def test_offline_panels_join_profiles_on_the_same_dataset(tmp_path):
    dataset = {"episodes": 3, "steps": 30, "average_return": 12.0}

    def profile(action_std, runs, data=dataset):
        settings = {"iterations": 2} | ({} if action_std is None else {"action_std": action_std})
        records = [{"algo": algo, "seed": seed, "return": value} for algo, seed, value in runs]
        return {"settings": settings, "envs": {"Hopper-v5": {"dataset": dict(data), "runs": records}}}

    results = {
        "profiles": {
            "base": profile(0.2, [("qwr", 0, 1.0), ("qwr", 1, 3.0), ("awr", 0, 5.0), ("bc", 0, 7.0)]),
            "wide": profile(None, [("qwr", 0, 10.0), ("awr", 0, 99.0)]),  # the paper's 0.4; AWR already in base
            "other": profile(0.2, [("qwr", 0, 1.0)], {"episodes": 4, "steps": 30, "average_return": 12.0}),
        }
    }
    data, bars = offline.panel(results, "base+wide", "Hopper-v5")
    assert data == dataset
    assert bars == [
        ("QWR mu 0.2", "qwr", [1.0, 3.0]),
        ("QWR mu 0.4", "qwr", [10.0]),
        ("AWR", "awr", [5.0]),  # from the first profile that has it
        ("BC", "bc", [7.0]),
    ]
    assert offline.panel(results, "wide", "Hopper-v5")[1] == [("QWR mu 0.4", "qwr", [10.0]), ("AWR", "awr", [99.0])]
    with pytest.raises(ValueError, match="different datasets"):
        offline.panel(results, "base+other", "Hopper-v5")
    with pytest.raises(ValueError, match=r"profile\(s\) \['typo'\]"):
        offline.panel(results, "base+typo", "Hopper-v5")
    stored = tmp_path / "results.json"
    lib_records.write_json(stored, results)
    with pytest.raises(SystemExit, match="typo"):
        offline.main(["--report-only", "--results", str(stored), "--plot-profiles", "base+typo"])
    table = offline.figure_table(results, ["base+wide", "other"]).splitlines()
    assert table[0] == "| env | profiles | dataset average return | QWR mu 0.2 | QWR mu 0.4 | AWR | BC |"
    assert table[2] == "| Hopper-v5 | `base+wide` | 12 | 2 (2 to 2, 2) | 10 (10 to 10, 1) | 5 (5 to 5, 1) | 7 (7 to 7, 1) |"
    assert table[3] == "| Hopper-v5 | `other` | 12 | 1 (1 to 1, 1) | not run | not run | not run |"
    figure = tmp_path / "offline.png"
    offline.plot(results, figure, ["base+wide", "other"])
    assert figure.stat().st_size > 0
    curves = tmp_path / "curves.png"
    assert not offline.plot_curves(results, curves) and not curves.exists()  # no run kept a curve
    results["profiles"]["wide"]["envs"]["Hopper-v5"]["runs"][0]["curve"] = [{"iteration": 1, "return": 3.0}]
    assert offline.plot_curves(results, curves, ["base+wide"]) and curves.stat().st_size > 0
    assert offline.curve_style("qwr", {}) == ("QWR mu 0.4", "tab:blue")
    assert offline.curve_style("qwr", {"action_std": 0.2}) == ("QWR mu 0.2", "tab:cyan")
    assert offline.curve_style("awr", {"action_std": 0.2}) == ("AWR", "tab:orange")


def test_bitflip_shared_settings_and_table_markers(tmp_path):
    qwr, awr = (bitflip.algo_kwargs(a, 300, 1000, 1e-3, 5e-3) for a in ("qwr", "awr"))
    assert qwr.pop("backup") == "mean" and qwr == awr  # everything else is shared
    assert awr["actor_learning_rate"] == 1e-3 and awr["critic_learning_rate"] == 5e-3 and awr["n_actor_steps"] == 300
    readme = tmp_path / "README.md"
    readme.write_text("a\n<!-- t1:start -->\nold\n<!-- t1:end -->\nb\n<!-- t2:start -->\nkeep\n<!-- t2:end -->\n")
    bitflip.write_table(readme, "new", "t1")
    assert readme.read_text() == "a\n<!-- t1:start -->\nnew\n<!-- t1:end -->\nb\n<!-- t2:start -->\nkeep\n<!-- t2:end -->\n"
    with pytest.raises(ValueError, match="markers"):
        bitflip.write_table(readme, "new", "t3")


def test_bitflip_cloning_diagnostics():

    class Buffer:  # 4 stored transitions of N = 3 bits (+ a step counter that the diagnostics ignore)
        observations = np.array([[[0, 1, 1, 9]], [[1, 0, 1, 9]], [[0, 0, 1, 9]], [[1, 1, 0, 9]], [[7, 7, 7, 7]]])
        actions = np.array([[[0]], [[0]], [[2]], [[2]], [[1]]])
        buffer_size, full, pos = 5, False, 4  # the 5th row was never written

    class Model:
        replay_buffer = Buffer()

        def predict(self, observations, deterministic):
            assert deterministic and len(observations) == 4
            return np.array([0, 1, 2, 0]), None

    stats = cloning.cloning_diagnostics(Model(), n_bits=3)
    # predicted == stored in rows 0 and 2; predicted flips a zero in rows 0, 1 (bit 1 is 0), not 2, not 3;
    # stored flips a zero in rows 0 and 3.
    assert stats == {"clone_rate": 0.5, "pred_zero_flip": 0.5, "buffer_zero_flip": 0.5}


def test_marked_block_helper(tmp_path):
    path = tmp_path / "NEW.md"
    with pytest.raises(ValueError, match="does not exist"):
        tables.replace_marked_block(path, "<!-- a -->", "<!-- b -->", "x")
    tables.replace_marked_block(path, "<!-- a -->", "<!-- b -->", "x", append_title="T")
    assert path.read_text() == "# T\n\n<!-- a -->\nx\n<!-- b -->\n"
    tables.replace_marked_block(path, "<!-- a -->", "<!-- b -->", "y\nz")
    assert path.read_text() == "# T\n\n<!-- a -->\ny\nz\n<!-- b -->\n"
    # An end marker before the begin marker is not a block.
    path.write_text("<!-- b -->\n<!-- a -->\n")
    with pytest.raises(ValueError, match="markers"):
        tables.replace_marked_block(path, "<!-- a -->", "<!-- b -->", "x")


def test_reference_temperature_evaluation():
    """The reference code's second evaluation: sampled actions at std 0.2 in the environment's units."""
    import gymnasium as gym

    from benchmarks.evaluate import reference_temperature_evaluation
    from sb3_qwr import QWR

    model = QWR("MlpPolicy", "Pendulum-v1", buffer_size=300, batch_size=32, seed=0)
    env = model.get_env()
    result = reference_temperature_evaluation(model, env, 2)
    assert result is not None and len(result["returns"]) == 2 and result["action_std"] == 0.2
    # Pendulum's bounds are +-2: std 0.2 in its units is 0.1 in SB3's normalized units
    np.testing.assert_allclose(model.actor.distribution.std, [0.1])
    from stable_baselines3 import PPO

    assert reference_temperature_evaluation(PPO("MlpPolicy", gym.make("Pendulum-v1")), env, 1) is None


def test_offline_peers_export_and_evaluate(tmp_path):
    """d3rlpy's side needs its own virtualenv; what runs here (the export, the evaluation) is checked here."""
    from benchmarks.lib import offline_peers
    from sb3_qwr.offline import OfflineDataset

    rng = np.random.default_rng(0)
    terminations = np.array([0, 0, 1, 0, 0, 0], dtype=bool)
    truncations = np.array([0, 0, 0, 0, 0, 1], dtype=bool)
    dataset = OfflineDataset(
        observations=rng.normal(size=(6, 3)),
        actions=rng.uniform(-1, 1, size=(6, 1)),
        rewards=rng.normal(size=6),
        terminations=terminations,
        truncations=truncations,
    )
    path = offline_peers.export_npz(dataset, tmp_path / "d.npz")
    with np.load(path) as data:
        np.testing.assert_array_equal(data["terminals"], terminations.astype(np.float32))
        np.testing.assert_array_equal(data["timeouts"], truncations.astype(np.float32))
        assert data["observations"].dtype == np.float32 and data["actions"].shape == (6, 1)
    cut = OfflineDataset(**{k: getattr(dataset, k)[:4] for k in ("observations", "actions", "rewards")},
                         terminations=terminations[:4], truncations=truncations[:4])  # fmt: skip
    with pytest.raises(ValueError, match="whole episodes"):
        offline_peers.export_npz(cut, tmp_path / "cut.npz")

    class Constant(th.nn.Module):
        def forward(self, x: th.Tensor) -> th.Tensor:
            return th.full((x.shape[0], 1), 5.0)  # out of Pendulum's bounds: clipped to 2

    th.jit.trace(Constant(), th.zeros(1, 3)).save(str(tmp_path / "policy.pt"))
    returns = offline_peers.evaluate_torchscript(tmp_path / "policy.pt", "Pendulum-v1", episodes=2, seed=7)
    env = gym.make("Pendulum-v1")
    env.reset(seed=7)
    expected = []
    for _ in range(2):
        env.reset()
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(np.array([2.0], dtype=np.float32))
            total, done = total + float(reward), terminated or truncated
        expected.append(total)
    np.testing.assert_allclose(returns, expected)
    record = offline_peers.run_record("Pendulum-v1", "iql", 3, returns, 1.26)
    assert record == {
        "env": "Pendulum-v1",
        "algo": "iql",
        "seed": 3,
        "return": float(np.mean(expected)),
        "episode_returns": returns,
        "train_seconds": 1.3,
    }


def test_sb3_dropin_failures_are_explained_or_reported():
    from benchmarks.sb3_dropin import explain_failures

    explained, unexplained = explain_failures(
        [
            "FAILED tests/test_run.py::test_offpolicy_multi_env[SAC] - assert 8 == (3 * 2)",
            "FAILED tests/test_save_load.py::test_something_new[QWR] - AssertionError",
        ]
    )
    assert list(explained) == ["tests/test_run.py::test_offpolicy_multi_env[SAC]"]
    assert "n_updates" in explained["tests/test_run.py::test_offpolicy_multi_env[SAC]"]
    assert unexplained == ["FAILED tests/test_save_load.py::test_something_new[QWR] - AssertionError"]


def test_offline_to_online_curves(tmp_path, monkeypatch):
    """Offline then online keeps the dataset in the buffer; both variants' curves start at step 0; table and figure."""
    from benchmarks import offline_to_online
    from sb3_qwr import QWR
    from sb3_qwr.datasets import make_dataset

    root = tmp_path / "work" / "tiny" / "minari"
    summary = make_dataset("Pendulum-v1", "pendulum/tiny-v0", episodes=0, random_episodes=2, root=root, verbose=0)
    offline_results = tmp_path / "offline.json"
    lib_records.write_json(
        offline_results,
        {
            "profiles": {
                "tiny": {
                    "settings": {"action_std": 0.3},
                    "envs": {
                        "Pendulum-v1": {
                            "dataset": {
                                "id": "pendulum/tiny-v0",
                                "episodes": summary.n_episodes,
                                "steps": summary.n_steps,
                                "average_return": summary.average_return,
                            },
                            "runs": [],
                        }
                    },
                }
            }
        },
    )
    buffers = []
    original_learn = QWR.learn

    def learn(self, *args, **kwargs):
        buffers.append((self.replay_buffer.size(), self.replay_buffer.buffer_size))
        return original_learn(self, *args, **kwargs)

    monkeypatch.setattr(QWR, "learn", learn)
    results, markdown = tmp_path / "o2o.json", tmp_path / "RESULTS.md"
    markdown.write_text(f"# R\n\n{offline_to_online.TABLE_START}\nold\n{offline_to_online.TABLE_END}\n\nafter\n")
    args = [
        "--env", "Pendulum-v1", "--profile", "tiny", "--seeds", "1", "--online-steps", "1000", "--iterations", "1",
        "--critic-steps", "3", "--actor-steps", "3", "--eval-freq", "500", "--eval-episodes", "1", "--device", "cpu",
        "--work-dir", str(tmp_path / "work"), "--offline-results", str(offline_results), "--results", str(results),
        "--figure", str(tmp_path / "o2o.png"), "--readme", str(markdown),
    ]  # fmt: skip
    offline_to_online.main(args)
    # offline-online: the dataset is in the buffer when the online phase starts, with room for every online step
    assert buffers == [(400, 1400), (0, 50_000)]
    record = lib_records.read_json(results)["envs"]["Pendulum-v1"]
    assert record["settings"]["action_std"] == 0.3  # the profile's mu
    assert sorted((run["variant"], run["steps"]) for run in record["runs"]) == [
        ("offline-online", [0, 500, 1000]),
        ("scratch", [0, 500, 1000]),
    ]
    text = markdown.read_text()
    assert "| Pendulum-v1 | offline-online |" in text and "old" not in text and text.endswith("after\n")
    assert (tmp_path / "o2o.png").exists()
    offline_to_online.main(args)  # finished runs are skipped
    assert len(lib_records.read_json(results)["envs"]["Pendulum-v1"]["runs"]) == 2
    with pytest.raises(SystemExit, match="No Pendulum-v1 dataset of profile 'other'"):
        offline_to_online.main([*args[:2], "--profile", "other", *args[4:]])


def test_offline_weights_sources_and_shares():
    from benchmarks import offline_weights

    ends = np.array([2, 4, 8, 9, 12])  # 5 episodes of 3, 2, 4, 1, 3 steps; the last one random
    expected = []
    for episode, length in enumerate([3, 2, 4, 1, 3]):
        expected += [episode % 2 if episode < 4 else 2] * length
    assert offline_weights.step_sources(ends, n_sources=2, policy_episodes=4).tolist() == expected

    rng = np.random.default_rng(0)
    weights, sources = rng.uniform(0.1, 5.0, size=50), rng.integers(0, 2, size=50)  # no random episode here
    shares = offline_weights.weight_shares(weights, sources, ["a", "b", "random"])
    assert set(shares) == {"a", "b"}
    for index, name in enumerate(["a", "b"]):
        picked = [w for w, s in zip(weights, sources, strict=True) if s == index]
        assert shares[name]["data_share"] == pytest.approx(len(picked) / 50)
        assert shares[name]["weight_share"] == pytest.approx(sum(picked) / sum(weights))
        assert shares[name]["mean_weight"] == pytest.approx(sum(picked) / len(picked))
    unit = offline_weights.to_unit(np.array([[-0.4, 0.0, 0.4]]), gym.spaces.Box(-0.4, 0.4, (3,)))
    np.testing.assert_allclose(unit, [[-1.0, 0.0, 1.0]], atol=1e-6)


def test_offline_weights_state_weights_are_the_actor_losses():
    """Every stored state gets the weight of the algorithm's own actor loss (AWR: against the formula in one batch)."""
    from benchmarks import offline_weights
    from sb3_qwr import AWR, QWR
    from sb3_qwr.common.functional import advantage_weights
    from sb3_qwr.offline import OfflineDataset

    rng = np.random.default_rng(0)
    n = 60
    dataset = OfflineDataset(
        observations=rng.normal(size=(n, 3)).astype(np.float32),
        actions=rng.uniform(-2, 2, size=(n, 1)).astype(np.float32),
        rewards=rng.normal(size=n).astype(np.float32),
        terminations=np.zeros(n),
        truncations=(np.arange(n) % 20 == 19),
        next_observations=rng.normal(size=(n, 3)).astype(np.float32),
    )
    for cls in (AWR, QWR):
        model = cls("MlpPolicy", "Pendulum-v1", n_critic_steps=2, n_actor_steps=2, batch_size=16, seed=0)
        model.load_dataset(dataset)
        model.learn_offline(1)
        weights = offline_weights.state_weights_of(model, batch_size=n, seed=3)
        assert weights.shape == (n,) and np.isfinite(weights).all() and (weights > 0).all()
        assert (weights <= model.max_weight + 1e-6).all()
        assert np.array_equal(weights, offline_weights.state_weights_of(model, batch_size=n, seed=3))
        if cls is AWR:  # one batch holding every state, in the permuted order: the formula on the buffer's rows
            order = np.random.default_rng(3).permutation(n)
            data = model.replay_buffer.samples_at(order)
            with th.no_grad():
                returns = model.td_returns(data, model.critic)
                values = model.critic(data.observations).float().squeeze(-1) * model.q_scale
                expected = advantage_weights(returns - values, model.beta, model.max_weight).double().numpy()
            np.testing.assert_allclose(weights[order], expected, rtol=1e-6)
    with pytest.raises(ValueError, match="rows in"):
        model.replay_buffer.samples_at(np.array([n]))


def test_offline_critic_calibration_against_a_replay():
    """Returns-to-go against their definition; the critic's values and the returns on a replay of the evaluation."""
    from benchmarks import offline_weights
    from sb3_qwr import AWR, QWR

    rng = np.random.default_rng(0)
    rewards = rng.normal(size=7)
    expected = [sum(0.9**i * rewards[t + i] for i in range(7 - t)) for t in range(7)]
    np.testing.assert_allclose(offline_weights.returns_to_go(rewards, 0.9), expected)
    assert offline_weights.calibrated_steps(120, True, 0.99) == 120
    assert offline_weights.calibrated_steps(1000, False, 0.99) == 1000 - 459  # 0.99 ** 459 < 0.01 < 0.99 ** 458
    assert offline_weights.calibrated_steps(200, False, 0.99) == 0
    assert offline_weights.calibrated_steps(200, False, 0.9) == 200 - 44
    for cls in (QWR, AWR):
        model = cls("MlpPolicy", "Pendulum-v1", gamma=0.9, seed=0)
        returns, critic = offline_weights.critic_calibration(model, "Pendulum-v1", seed=2, episodes=2)
        # The evaluation replayed by hand: reset with the evaluation seed, then unseeded resets (SB3's DummyVecEnv)
        env = gym.make("Pendulum-v1")
        env.reset(seed=2 + offline.EVAL_SEED_OFFSET)
        values, targets, replayed = [], [], []
        for _ in range(2):
            obs, _ = env.reset()
            states, actions, rewards = [], [], []
            done = False
            while not done:
                action = model.predict(obs, deterministic=True)[0]
                states.append(obs), actions.append(action)
                obs, reward, terminated, truncated, _ = env.step(action)
                rewards.append(reward)
                done = terminated or truncated
            replayed.append(sum(rewards))
            n = len(rewards) - 44  # truncated after 200 steps
            with th.no_grad():
                q = model.critic(th.tensor(np.array(states[:n])), th.tensor(model.policy.scale_action(np.array(actions[:n]))))
            values += (q.reshape(-1).double() * model.q_scale).tolist()
            targets += [sum(0.9**i * rewards[t + i] for i in range(len(rewards) - t)) for t in range(n)]
        np.testing.assert_allclose(returns, replayed, rtol=1e-5)
        assert critic["steps"] == len(values) == 2 * 156
        assert critic["critic_mean"] == pytest.approx(np.mean(values), rel=1e-5)
        assert critic["return_mean"] == pytest.approx(np.mean(targets), rel=1e-5)
        assert critic["ratio"] == pytest.approx(np.mean(values) / np.mean(targets), rel=1e-5)
        assert critic["correlation"] == pytest.approx(np.corrcoef(values, targets)[0, 1], rel=1e-4)


def test_offline_weights_end_to_end(tmp_path):
    """Two behaviour policies and a random episode: shares per source, distances, table, skip and model reuse."""
    from stable_baselines3 import SAC

    from benchmarks import offline_weights
    from sb3_qwr.datasets import make_dataset

    work = tmp_path / "work"
    sac_dir = work / "tiny" / "Pendulum-v1" / "sac"
    sac_dir.mkdir(parents=True)
    for name, seed in (("sac_a", 0), ("sac_b", 1)):
        SAC("MlpPolicy", "Pendulum-v1", seed=seed).save(sac_dir / f"{name}.zip")
    summary = make_dataset(
        "Pendulum-v1",
        "pendulum/diverse-v0",
        policies=[sac_dir / "sac_a.zip", sac_dir / "sac_b.zip"],
        episodes=3,
        random_episodes=1,
        root=work / "tiny" / "minari",
        verbose=0,
    )
    settings = {"episodes": 3, "random_episodes": 1, "iterations": 1, "critic_steps": 3, "actor_steps": 3}
    dataset = {
        "id": "pendulum/diverse-v0",
        "episodes": summary.n_episodes,
        "steps": summary.n_steps,
        "average_return": summary.average_return,
        "returns_by_source": {Path(k).stem: 0.0 for k in summary.returns_by_source},
    }
    offline_results = tmp_path / "offline.json"
    lib_records.write_json(
        offline_results,
        {
            "profiles": {
                "tiny": {
                    "settings": settings | {"eval_episodes": 1, "action_std": 0.3},
                    "envs": {"Pendulum-v1": {"dataset": dataset, "runs": []}},
                }
            }
        },
    )
    results, markdown = tmp_path / "weights.json", tmp_path / "RESULTS.md"
    markdown.write_text(f"# R\n\n{offline_weights.TABLE_START}\nold\n{offline_weights.TABLE_END}\n")
    args = [
        "--profile", "tiny", "--env", "Pendulum-v1", "--action-stds", "0.3", "0.6", "--work-dir", str(work),
        "--offline-results", str(offline_results), "--results", str(results), "--readme", str(markdown),
    ]  # fmt: skip
    offline_weights.main(args)
    records = lib_records.read_json(results)
    assert [(r["algo"], r["action_std"]) for r in records] == [("qwr", 0.3), ("qwr", 0.6), ("awr", None)]
    for record in records:
        sources = record["sources"]
        assert list(sources) == ["sac_a", "sac_b", "random"]  # episodes a, b, a (200 steps each), then random
        assert [s["data_share"] for s in sources.values()] == pytest.approx([0.5, 0.25, 0.25])
        assert sum(s["weight_share"] for s in sources.values()) == pytest.approx(1.0)
        assert set(record["action_distance"]) == {"sac_a", "sac_b"}
        assert all(d >= 0 for d in record["action_distance"].values())
    assert "| tiny | Pendulum-v1 | QWR | 0.6 | 0 |" in markdown.read_text()
    env_dir = work / "tiny" / "Pendulum-v1"  # where benchmarks/offline.py keeps its trained models
    for algo, std in (("qwr", 0.3), ("qwr", 0.6), ("awr", 0.3)):  # AWR's buffer gets the profile's std
        assert offline.model_path(env_dir, algo, 0, std).exists()
    assert all("critic" in r and r["critic"] is None for r in records)  # Pendulum: 200 steps, all truncated
    offline_weights.main(args)  # finished runs are skipped
    assert len(lib_records.read_json(results)) == 3
    for record in records:  # records made before the critic's calibration get it from the saved models
        del record["critic"]
    lib_records.write_json(results, records)
    offline_weights.main(args)
    assert [("critic" in r) for r in lib_records.read_json(results)] == [True] * 3
    records[0]["episode_returns"] = [r + 1.0 for r in records[0]["episode_returns"]]
    lib_records.write_json(results, records)
    with pytest.raises(SystemExit, match="does not reproduce"):
        offline_weights.main(args)
    # A new results file: the saved models are reused, and the same seed gives the same weights
    offline_weights.main([*args[:-4], "--results", str(tmp_path / "again.json"), "--readme", str(markdown)])
    again = lib_records.read_json(tmp_path / "again.json")
    assert [r["sources"] for r in again] == [r["sources"] for r in records]


def test_speed_variants_build_what_they_name():
    from benchmarks import speed
    from benchmarks.lib import timing

    for name, kwargs in timing.QWR_VARIANTS.items():
        model = timing.build(name, "Pendulum-v1", seed=0, device="cpu", qwr_updates=10)
        assert model.precision == kwargs["precision"]
        assert model.compile_updates == kwargs.get("compile_updates", False)
        assert (model.n_critic_steps, model.n_actor_steps) == (10, 10)
        expected = "bfloat16" if kwargs["precision"] == "bf16" else "float32"
        assert speed.matmul_dtype(name) == expected


@pytest.mark.parametrize("variant", ["qwr-fp32", "qwr-fp32-compiled"])
def test_the_phase_timer_times_every_phase(variant):
    """benchmarks.speed's timer wraps what the training phase calls (the buffer's gathers, the targets' hook)."""
    from benchmarks.lib import timing

    model = timing.build(variant, "Pendulum-v1", seed=0, device="cpu", qwr_updates=5)
    model.learn(1000)  # one iteration (compiles the hooks of the compiled variant)
    timer = timing.instrument(model)
    timing.time_steps(model, 1000)
    phases = {"env_step", "collect", "sample_critic", "sample_actor", "critic_target", "critic_phase", "actor_phase"}
    assert phases <= {name for name, seconds in timer.seconds.items() if seconds > 0}, dict(timer.seconds)


def test_bf16_rounding_report_on_a_saved_run(tmp_path):
    from benchmarks import bf16_rounding
    from sb3_qwr import QWR

    fast = {"train_freq": 200, "n_critic_steps": 5, "n_actor_steps": 5, "batch_size": 32, "buffer_size": 1000}
    QWR("MlpPolicy", "Pendulum-v1", seed=0, device="cpu", **fast).learn(400).save(tmp_path / "Pendulum-v1.zip")
    output = tmp_path / "rounding.jsonl"
    record = bf16_rounding.main(
        ["--run-dir", str(tmp_path), "--env", "Pendulum-v1", "--states", "50", "--output", str(output)]
    )
    assert json.loads(output.read_text().splitlines()[-1])["states"] == 50
    for mode in ("bf16", "bf16-output"):
        stats = record[mode]
        assert 0 < stats["q_error_rms"] < 1.0  # bfloat16 did run, and stayed near the float32 values
        assert 0 <= stats["best_action_agreement"] <= 1
        assert np.isfinite(stats["advantage_error_fraction"]) and np.isfinite(stats["weight_error_rms"])
    # "bf16" is what precision="bf16" runs: the critic's own q_values under autocast
    model, env = bf16_rounding.load_run(tmp_path, "Pendulum-v1")
    states = bf16_rounding.visited_states(model, env, 20, seed=1)
    actions = th.rand(20, 4, 1) * 2 - 1
    with th.no_grad(), th.autocast("cpu", dtype=th.bfloat16):
        expected = model.critic.q_values(model.critic.embed_obs(states), actions).float() * model.q_scale
    th.testing.assert_close(bf16_rounding.sampled_values(model, states, actions, "bf16"), expected)
    with pytest.raises(FileNotFoundError, match="Zoo run folder"):
        bf16_rounding.load_run(tmp_path, "Hopper-v5")


def test_gpu_check_smoke_on_the_cpu(tmp_path):
    # Every part of the GPU check at a tiny size, as it runs on the lent machine (one JSON, every part recorded).
    output = tmp_path / "gpu_check.json"
    command = [sys.executable, "-m", "benchmarks.gpu_check", "--device", "cpu", "--smoke", "--output", str(output)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    record = json.loads(output.read_text())
    assert list(record["parts"]) == [
        "cuda_tests",
        "hopper:qwr-fp32",
        "hopper:qwr-bf16",
        "hopper:sac",
        "atari:qwr",
        "atari:dqn",
        "hopper:qwr-bf16-compiled",
    ]
    assert all(part["ok"] and part["seconds"] > 0 for part in record["parts"].values())
    assert "tests/test_cuda.py" in record["parts"]["cuda_tests"]["result"]["summary"]
    projected = record["projections"]
    assert all(value > 0 for value in projected["hopper_100k_s"].values())
    assert all(value > 0 for value in projected["atari_100k_s"].values())


def test_gpu_check_part_failure_is_recorded(tmp_path):
    from benchmarks import gpu_check

    def broken():
        raise RuntimeError("out of memory")

    part = gpu_check.run_part("broken", broken, "cpu")
    assert not part["ok"] and "RuntimeError: out of memory" in part["error"] and part["seconds"] >= 0


def test_periodic_evaluation_counts_steps_calls_and_phases():
    """The benchmarks' one evaluation callback: when it scores, in each unit, and what it keeps."""
    from benchmarks.lib.evaluation import PeriodicEvaluation
    from sb3_qwr import QWR

    small = {"train_freq": 50, "n_critic_steps": 2, "n_actor_steps": 2, "batch_size": 16, "buffer_size": 400, "seed": 0}
    seen: list[dict] = []
    by_steps = PeriodicEvaluation(
        lambda m: [float(m.num_timesteps)], every=40, unit="steps", at_start=True, on_point=seen.append
    )
    by_phases = PeriodicEvaluation(lambda m: [1.0, 3.0], unit="phases")
    QWR("MlpPolicy", "Pendulum-v1", **small).learn(150, callback=[by_steps, by_phases])
    assert [p["count"] for p in by_steps.points] == [0, 40, 80, 120] and by_steps.returns == [0.0, 40.0, 80.0, 120.0]
    assert seen == [{k: v for k, v in p.items() if k != "returns"} for p in by_steps.points]
    assert [p["count"] for p in by_phases.points] == [1, 2] and by_phases.returns == [2.0, 2.0]
    by_calls = PeriodicEvaluation(lambda m: [0.0], every=2, unit="calls", until=5)
    model = QWR("MlpPolicy", "Pendulum-v1", **small).learn(50)
    model.learn_offline(6, callback=by_calls)
    assert [p["count"] for p in by_calls.points] == [2, 4]
    with pytest.raises(ValueError, match="unit"):
        PeriodicEvaluation(lambda m: [0.0], unit="episodes")


def test_normalized_scores_and_the_aggregate_section(tmp_path):
    """(score - random) / (best - random) per game, against a reference written out; only seeds run on every game."""
    from benchmarks import report
    from benchmarks.lib.records import write_json
    from benchmarks.suites import SUITES

    suite = SUITES["minatar100k"]
    rng = np.random.default_rng(0)
    summaries = []
    for variant, seeds in (("dqn", (0, 1, 2)), ("ppo", (0, 1)), ("qwr-lse", (0,))):
        for env in suite.envs:
            for seed in seeds if variant != "qwr-lse" or env != suite.envs[-1] else ():
                mean = float(rng.uniform(1, 30))
                summaries.append({"variant": variant, "env": env, "seed": seed, "final_eval": {"mean": mean}})
    random_scores = dict.fromkeys(suite.envs, 0.5)
    normalized = report.normalized_scores(suite, summaries, random_scores)
    assert set(normalized) == {"dqn", "ppo"}  # QWR-LSE has no run on the last game
    for variant, (seeds, matrix) in normalized.items():
        assert seeds == ([0, 1, 2] if variant == "dqn" else [0, 1]) and matrix.shape == (len(seeds), len(suite.envs))
        for i, seed in enumerate(seeds):
            for j, env in enumerate(suite.envs):
                best = max(s["final_eval"]["mean"] for s in summaries if s["env"] == env)
                (score,) = [
                    s["final_eval"]["mean"] for s in summaries if (s["variant"], s["env"], s["seed"]) == (variant, env, seed)
                ]
                assert matrix[i, j] == pytest.approx((score - 0.5) / (best - 0.5))
    assert report.aggregate_section(suite, summaries, {v: v for v in report.VARIANT_ORDER}, tmp_path) == ""
    write_json(tmp_path / suite.name / "random_scores.json", {"scores": {env: {"mean": 0.5} for env in suite.envs}})
    text = report.aggregate_section(suite, summaries, {v: v for v in report.VARIANT_ORDER}, tmp_path)
    assert "| dqn | 3 (0, 1, 2) |" in text and "| qwr-lse | 0 | not on every game yet |" in text


def test_atari_iteration_records_one_whole_iteration(tmp_path):
    """benchmarks.atari_iteration at a tiny size: one record with the seconds, the phases and the package's commit."""
    from benchmarks import atari_iteration

    output = tmp_path / "atari_iteration.jsonl"
    atari_iteration.main(["--updates", "2", "--precision", "bf16-eval", "--output", str(output)])
    (record,) = [json.loads(line) for line in output.read_text().splitlines()]
    assert record["precision"] == "bf16-eval" and record["updates"] == 2 and record["seconds"] > 0
    assert {"collect", "critic_phase", "actor_phase"} <= set(record["phases_s"])
    assert record["commit"] and {"date", "versions", "machine"} <= set(record)
