"""
RL Zoo integration: the real ``python -m sb3_qwr.zoo``/``sb3-qwr`` commands on tiny budgets, plus the pieces
they are made of (hyperparameter files, Optuna sampler, experiment manager, inference loading).
"""

import importlib.util
import inspect
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import optuna
import pytest
import yaml
from rl_zoo3.hyperparams_opt import HYPERPARAMS_CONVERTER, HYPERPARAMS_SAMPLER
from rl_zoo3.utils import ALGOS, SimpleLinearSchedule
from stable_baselines3 import PPO, SAC

from sb3_qwr import AWR, QWR
from sb3_qwr.common.base_class import WeightedRegressionAlgorithm
from sb3_qwr.zoo import (
    QWR_SEARCH_SPACE,
    InferenceQWR,
    QWRExperimentManager,
    convert_qwr_params,
    default_conf_file,
    hyperparams_file,
    main,
    merged_hyperparams,
    register_qwr,
    sample_qwr_params,
)
from sb3_qwr.zoo.config import load_hyperparams, zoo_hyperparams_file

MUJOCO_V5 = ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Humanoid-v5", "Ant-v5")
# Keys of a Zoo entry that the ExperimentManager consumes instead of passing them to the algorithm.
ZOO_KEYS = {"n_timesteps", "normalize", "env_wrapper", "frame_stack", "env_kwargs", "n_envs", "policy"}
# Tiny QWR budget: 3 iterations of 100 interactions with 20 critic and 20 actor updates.
TINY_QWR = ["n_critic_steps:20", "n_actor_steps:20", "train_freq:100", "batch_size:64"]
ZOO = [sys.executable, "-m", "sb3_qwr.zoo"]


def run_zoo(args: list[str], cwd: Path, expect_rc: int = 0, command: list[str] = ZOO) -> subprocess.CompletedProcess:
    """Run a zoo command (one torch thread: the CPUs are shared) and check its exit code."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run([*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == expect_rc, f"rc={result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result


def run_folder(log_folder: Path, algo: str, env_id: str, run_id: int = 1) -> Path:
    return log_folder / algo / f"{env_id}_{run_id}"


def saved_config(run: Path, env_id: str) -> dict[str, Any]:
    with open(run / env_id / "config.yml") as file:
        return dict(yaml.load(file, Loader=yaml.UnsafeLoader))


def check_trained_run(run: Path, env_id: str) -> None:
    """The files the Zoo leaves after training with evaluations."""
    assert (run / f"{env_id}.zip").is_file()
    assert (run / "best_model.zip").is_file()
    monitor = (run / "0.monitor.csv").read_text().splitlines()
    assert len(monitor) >= 3, monitor  # header, column names, at least one episode
    evaluations = np.load(run / "evaluations.npz")
    assert len(evaluations["timesteps"]) >= 1
    assert evaluations["results"].shape[1] == 2  # --eval-episodes 2
    assert (run / env_id / "args.yml").is_file()


# ----------------------------------------------------------------------------------------------------------
# Hyperparameter files
# ----------------------------------------------------------------------------------------------------------


def test_hyperparams_files_ship_in_package() -> None:
    for algo in ("qwr", "awr", "sac", "ppo", "dqn"):
        path = hyperparams_file(algo)
        assert path.parent.name == "hyperparams" and path.is_file()
    import sb3_qwr.hyperparams

    assert Path(sb3_qwr.hyperparams.__file__).parent == hyperparams_file("qwr").parent
    assert default_conf_file("qwr") == str(hyperparams_file("qwr"))
    assert default_conf_file("awr") == str(hyperparams_file("awr"))
    assert default_conf_file("sac") == "sb3_qwr.zoo.conf.sac"
    assert default_conf_file("td3") is None


def test_qwr_yml_matches_table4_and_constructor() -> None:
    hyperparams = load_hyperparams(hyperparams_file("qwr"))
    constructor = set(inspect.signature(QWR.__init__).parameters)
    for env_id, entry in hyperparams.items():
        unknown = set(entry) - constructor - ZOO_KEYS
        assert not unknown, f"{env_id}: {unknown} are not QWR arguments"
    table4 = {
        "n_action_samples": 4,
        "n_step_horizon": 3,
        "beta": 1.0,
        "backup": "lse",
        "gamma": 0.99,
        "td_lambda": 0.95,
        "actor_learning_rate": 1e-4,
        "critic_learning_rate": 5e-4,
        "batch_size": 256,
        "buffer_size": 50_000,
        "n_actor_steps": 1000,
        "n_critic_steps": 1000,
        "target_update_interval": 100,
        "train_freq": 1000,
        "backup_temperature": 0.3,
        "backup_scale": "mad",
    }
    minatar = [env_id for env_id in hyperparams if env_id.startswith("MinAtar/")]
    assert len(minatar) == 5
    others = ("atari", "default", "InvertedPendulum-v5", "Pendulum-v1", "CartPole-v1", "LunarLander-v3")
    for env_id in (*MUJOCO_V5, *minatar, *others):
        entry = hyperparams[env_id]
        assert {key: entry[key] for key in table4} == table4, env_id
    for env_id in MUJOCO_V5:
        assert hyperparams[env_id]["n_timesteps"] == 1e5
        assert hyperparams[env_id]["policy"] == "MlpPolicy"
        # Running observation statistics as in the reference code's Normalize layer; rewards stay raw.
        assert hyperparams[env_id]["normalize"] == "dict(norm_obs=True, norm_reward=False)", env_id
    assert "normalize" not in hyperparams["default"] and "normalize" not in hyperparams["atari"]
    atari = hyperparams["atari"]
    assert atari["policy"] == "CnnPolicy" and atari["frame_stack"] == 4 and atari["max_grad_norm"] == 0.5
    wrapper = atari["env_wrapper"][0]["stable_baselines3.common.atari_wrappers.AtariWrapper"]
    assert wrapper["noop_max"] == 30 and wrapper["frame_skip"] == 4 and wrapper["screen_size"] == 84
    assert wrapper["clip_reward"] is True
    # 10K interactions at frame skip 4.
    assert atari["env_kwargs"]["max_num_frames_per_episode"] == 40_000
    assert atari["optimize_memory_usage"] is True  # each frame stack stored once (half the buffer's memory)


def test_sac_ppo_files_copy_v4_values_and_merge_over_zoo() -> None:
    for algo in ("sac", "ppo"):
        ours = load_hyperparams(hyperparams_file(algo))
        zoo = load_hyperparams(zoo_hyperparams_file(algo))
        assert {env_id for env_id in ours if not env_id.startswith("MinAtar/")} == set(MUJOCO_V5)
        for env_id in MUJOCO_V5:
            assert ours[env_id] == zoo[env_id.replace("-v5", "-v4")]
        merged = merged_hyperparams(algo)
        assert set(merged) == set(zoo) | set(ours)
        assert merged["Pendulum-v1"] == zoo["Pendulum-v1"]


# ----------------------------------------------------------------------------------------------------------
# Registration, sampler, experiment manager, inference loading (in process)
# ----------------------------------------------------------------------------------------------------------


def test_register_and_sampler() -> None:
    register_qwr()
    assert ALGOS["qwr"] is QWR
    assert HYPERPARAMS_SAMPLER["qwr"] is sample_qwr_params
    assert HYPERPARAMS_CONVERTER["qwr"] is convert_qwr_params
    # The Zoo calls samplers as sampler(trial, n_actions, n_envs, additional_args).
    zoo_signature = inspect.signature(HYPERPARAMS_SAMPLER["sac"])
    assert list(inspect.signature(sample_qwr_params).parameters) == list(zoo_signature.parameters)

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for n_actions in (1, 1, 1, 0):
        trial = study.ask()
        params = sample_qwr_params(trial, n_actions, 1, {"using_her_replay_buffer": False, "her_kwargs": {}})
        for name, value in params.items():
            assert value in QWR_SEARCH_SPACE[name]
        assert ("n_action_samples" in params) == (n_actions > 0)
        assert convert_qwr_params(trial.params) == params
        study.tell(trial, 0.0)
    # The sampled arguments build a model.
    model = QWR(env="Pendulum-v1", policy="MlpPolicy", **{**params, "buffer_size": 1000})
    assert model.beta == params["beta"]
    with pytest.raises(ValueError, match="backup"):
        convert_qwr_params({"backup": "median"})


def test_inference_load_uses_tiny_buffer(tmp_path: Path) -> None:
    model = QWR("MlpPolicy", "Pendulum-v1", buffer_size=5000, batch_size=32)
    model.save(tmp_path / "model.zip")
    register_qwr(inference=True)
    try:
        assert ALGOS["qwr"] is InferenceQWR
        loaded = ALGOS["qwr"].load(tmp_path / "model.zip", custom_objects={"learning_rate": 0.0}, seed=0)
        assert isinstance(loaded, QWR) and loaded.replay_buffer.buffer_size == 1
        obs, _ = gym.make("Pendulum-v1").reset(seed=0)
        action, _ = loaded.predict(obs, deterministic=True)
        assert action.shape == (1,)
        assert InferenceQWR.load(tmp_path / "model.zip", buffer_size=10).replay_buffer.buffer_size == 10
        AWR("MlpPolicy", "Pendulum-v1", buffer_size=5000, batch_size=32).save(tmp_path / "awr.zip")
        awr = ALGOS["awr"].load(tmp_path / "awr.zip")
        assert type(awr) is AWR and awr.replay_buffer.buffer_size == 1
    finally:
        register_qwr()


def make_manager(tmp_path: Path, env_id: str, **kwargs: Any) -> QWRExperimentManager:
    return QWRExperimentManager(
        args=None,  # type: ignore[arg-type]
        algo="qwr",
        env_id=env_id,
        log_folder=str(tmp_path),
        config=str(hyperparams_file("qwr")),
        **kwargs,
    )


def test_experiment_manager_schedules_and_eval_env_kwargs(tmp_path: Path) -> None:
    hyperparams = QWRExperimentManager._preprocess_schedules(
        {"actor_learning_rate": "lin_1e-4", "critic_learning_rate": 5e-4, "beta": 1.0}
    )
    assert isinstance(hyperparams["actor_learning_rate"], SimpleLinearSchedule)
    assert hyperparams["actor_learning_rate"](0.5) == pytest.approx(5e-5)
    assert hyperparams["critic_learning_rate"] == 5e-4
    with pytest.raises(ValueError, match="actor_learning_rate"):
        QWRExperimentManager._preprocess_schedules({"actor_learning_rate": "cosine_1e-4"})

    # The Atari episode cap of qwr.yml (env_kwargs) reaches the evaluation env too...
    manager = make_manager(tmp_path, "PongNoFrameskip-v4")
    manager._preprocess_hyperparams(manager.read_hyperparameters()[0])
    assert manager.env_kwargs == manager.eval_env_kwargs == {"max_num_frames_per_episode": 40_000}
    # ... unless --eval-env-kwargs says otherwise.
    manager = make_manager(tmp_path, "PongNoFrameskip-v4", eval_env_kwargs={"max_num_frames_per_episode": 100})
    manager._preprocess_hyperparams(manager.read_hyperparameters()[0])
    assert manager.eval_env_kwargs == {"max_num_frames_per_episode": 100}


def test_cli_usage_and_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    main([])
    assert "train" in capsys.readouterr().out
    with pytest.raises(SystemExit) as error:
        main(["bogus"])
    assert error.value.code == 2
    assert "unknown command 'bogus'" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------------------
# The real commands
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def log_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("zoo_logs")


@pytest.fixture(scope="module")
def pendulum_run(log_folder: Path) -> Path:
    args = ["train", "--algo", "qwr", "--env", "Pendulum-v1", "-n", "300", "--seed", "1", "-f", str(log_folder)]
    args += ["--eval-freq", "150", "--eval-episodes", "2", "--save-freq", "150", "--save-replay-buffer"]
    run_zoo([*args, "-params", *TINY_QWR], cwd=log_folder)
    return run_folder(log_folder, "qwr", "Pendulum-v1")


def test_train_qwr_pendulum(pendulum_run: Path) -> None:
    check_trained_run(pendulum_run, "Pendulum-v1")
    assert (pendulum_run / "rl_model_150_steps.zip").is_file()
    assert (pendulum_run / "replay_buffer.pkl").is_file()
    config = saved_config(pendulum_run, "Pendulum-v1")
    assert config["n_critic_steps"] == 20 and config["backup"] == "lse"  # -params over the shipped qwr.yml
    args = (pendulum_run / "Pendulum-v1" / "args.yml").read_text()
    assert str(hyperparams_file("qwr")) in args
    model = QWR.load(pendulum_run / "Pendulum-v1.zip", buffer_size=1)
    assert model.num_timesteps == 300 and model.n_critic_steps == 20


def test_awr_yml_is_qwr_yml_without_qwr_arguments() -> None:
    """AWR, the paper's baseline, runs through the Zoo with QWR's settings less the arguments it does not have."""
    qwr, awr = load_hyperparams(hyperparams_file("qwr")), load_hyperparams(hyperparams_file("awr"))
    assert set(awr) == set(qwr)
    constructor = set(inspect.signature(AWR.__init__).parameters) | set(
        inspect.signature(WeightedRegressionAlgorithm.__init__).parameters
    )
    qwr_only = {"n_action_samples", "backup", "backup_temperature", "backup_scale"}
    for env_id, entry in awr.items():
        assert not set(entry) - constructor - ZOO_KEYS, env_id
        assert entry == {key: value for key, value in qwr[env_id].items() if key not in qwr_only}, env_id


def test_train_awr_through_the_zoo(log_folder: Path) -> None:
    args = ["train", "--algo", "awr", "--env", "Pendulum-v1", "-n", "200", "--seed", "1", "-f", str(log_folder)]
    run_zoo([*args, "--eval-freq", "-1", "-params", *TINY_QWR], cwd=log_folder)
    run = run_folder(log_folder, "awr", "Pendulum-v1")
    model = AWR.load(run / "Pendulum-v1.zip", buffer_size=1)
    assert model.num_timesteps == 200 and model.n_critic_steps == 20
    assert str(hyperparams_file("awr")) in (run / "Pendulum-v1" / "args.yml").read_text()


def test_enjoy_and_plots_pendulum(pendulum_run: Path, log_folder: Path) -> None:
    result = run_zoo(
        ["enjoy", "--algo", "qwr", "--env", "Pendulum-v1", "-f", str(log_folder), "--no-render", "-n", "50"],
        cwd=log_folder,
    )
    assert "Pendulum-v1.zip" in result.stdout

    main(["plot_train", "--algo", "qwr", "--env", "Pendulum-v1", "-f", str(log_folder), "-w", "1"])
    output = log_folder / "all_plots"
    main(["all_plots", "-a", "qwr", "-e", "Pendulum-v1", "-f", str(log_folder), "--no-display", "-o", str(output)])
    assert output.with_suffix(".pkl").is_file()


def test_train_qwr_cartpole(log_folder: Path) -> None:
    args = ["train", "--algo", "qwr", "--env", "CartPole-v1", "-n", "300", "--seed", "1", "-f", str(log_folder)]
    run_zoo([*args, "--eval-freq", "150", "--eval-episodes", "2", "-params", *TINY_QWR], cwd=log_folder)
    run = run_folder(log_folder, "qwr", "CartPole-v1")
    check_trained_run(run, "CartPole-v1")
    assert QWR.load(run / "CartPole-v1.zip", buffer_size=1).action_space == gym.spaces.Discrete(2)


def test_train_enjoy_record_qwr_pong(log_folder: Path) -> None:
    # SB3's AtariWrapper resizes frames with OpenCV.
    assert importlib.util.find_spec("cv2") is not None, "Atari needs OpenCV: pip install opencv-python-headless"
    env_id = "PongNoFrameskip-v4"
    # 100 interactions (400 frames) per episode and a tiny CNN budget keep this under a minute.
    args = ["train", "--algo", "qwr", "--env", env_id, "-n", "300", "--seed", "1", "-f", str(log_folder)]
    args += ["--eval-freq", "300", "--eval-episodes", "2", "--env-kwargs", "max_num_frames_per_episode:400"]
    args += ["-params", "n_critic_steps:5", "n_actor_steps:5", "train_freq:100", "batch_size:32", "buffer_size:2000"]
    run_zoo(args, cwd=log_folder)
    run = run_folder(log_folder, "qwr", env_id)
    check_trained_run(run, env_id)
    config = saved_config(run, env_id)
    assert config["policy"] == "CnnPolicy" and config["frame_stack"] == 4
    model = QWR.load(run / f"{env_id}.zip", buffer_size=1)
    assert model.observation_space.shape == (4, 84, 84) and model._max_grad_norm == 0.5

    common = ["--algo", "qwr", "--env", env_id, "-f", str(log_folder), "-n", "50"]
    result = run_zoo(["enjoy", *common, "--no-render"], cwd=log_folder)
    assert "Stacking 4 frames" in result.stdout
    run_zoo(["record_video", *common], cwd=log_folder)
    assert list((run / "videos").glob("final-model-qwr-*.mp4"))


def test_optimize_shared_sqlite_study(log_folder: Path) -> None:
    storage = f"sqlite:///{log_folder / 'qwr_study.db'}"
    args = ["train", "--algo", "qwr", "--env", "Pendulum-v1", "-optimize", "--n-trials", "1", "--storage", storage]
    args += ["--study-name", "qwr-test", "--sampler", "random", "--pruner", "none", "-n", "300", "--n-evaluations", "1"]
    args += ["--eval-episodes", "2", "--no-optim-plots", "-f", str(log_folder)]
    # Sampled update counts go up to 3000 per iteration: the 300 steps of a trial stay in the warm-up here, the
    # trials still build, run and evaluate a model with the sampled hyperparameters.
    tiny = ["-params", "learning_starts:300", "train_freq:100"]
    # Two processes, one trial each, one study.
    for seed in ("1", "2"):
        run_zoo([*args, "--seed", seed, *tiny], cwd=log_folder)
    study = optuna.load_study(study_name="qwr-test", storage=storage)
    complete = [trial for trial in study.trials if trial.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 2
    assert set(complete[1].params) == set(QWR_SEARCH_SPACE)
    assert list((log_folder / "qwr").glob("report_Pendulum-v1_*.csv"))

    # Train with the hyperparameters of trial 1 (loaded through HYPERPARAMS_CONVERTER["qwr"]).
    args = ["train", "--algo", "qwr", "--env", "Pendulum-v1", "--storage", storage, "--study-name", "qwr-test"]
    args += ["--trial-id", "1", "-n", "100", "--eval-freq", "-1", "--seed", "3", "-f", str(log_folder)]
    result = run_zoo([*args, "-params", "n_critic_steps:5", "n_actor_steps:5", "train_freq:100"], cwd=log_folder)
    run = Path(result.stdout.split("Log path: ")[1].split()[0])
    config = saved_config(run, "Pendulum-v1")
    assert config["beta"] == complete[1].params["beta"] and config["n_critic_steps"] == 5


def test_sac_and_ppo_train_unchanged(log_folder: Path) -> None:
    # SAC on an env of the Zoo's own sac.yml: the Zoo's entry applies.
    args = ["train", "--algo", "sac", "--env", "Pendulum-v1", "-n", "300", "--eval-freq", "-1", "--seed", "1"]
    result = run_zoo([*args, "-f", str(log_folder)], cwd=log_folder)
    assert "sb3_qwr.zoo.conf.sac" in result.stdout
    run = run_folder(log_folder, "sac", "Pendulum-v1")
    assert saved_config(run, "Pendulum-v1")["learning_rate"] == 0.001
    assert SAC.load(run / "Pendulum-v1.zip").num_timesteps == 300

    # PPO on a MuJoCo v5 env that only sb3-qwr's ppo.yml has (the Zoo's tuned Hopper-v4 values).
    args = ["train", "--algo", "ppo", "--env", "Hopper-v5", "-n", "64", "--eval-freq", "-1", "--seed", "1"]
    run_zoo([*args, "-f", str(log_folder), "-params", "n_steps:64", "batch_size:32", "n_epochs:1"], cwd=log_folder)
    run = run_folder(log_folder, "ppo", "Hopper-v5")
    config = saved_config(run, "Hopper-v5")
    assert config["gamma"] == 0.999 and config["normalize"] is True
    assert (run / "Hopper-v5" / "vecnormalize.pkl").is_file()
    assert isinstance(PPO.load(run / "Hopper-v5.zip"), PPO)


def test_zoo_errors(log_folder: Path, tmp_path: Path) -> None:
    # The console script, an unknown algorithm: the Zoo's argparse error.
    script = shutil.which("sb3-qwr", path=str(Path(sys.executable).parent)) or shutil.which("sb3-qwr")
    assert script is not None, "the sb3-qwr console script is not installed (pip install -e .)"
    result = run_zoo(["train", "--algo", "foo", "--env", "Pendulum-v1"], cwd=tmp_path, expect_rc=2, command=[script])
    assert "invalid choice: 'foo'" in result.stderr and "qwr" in result.stderr

    # A hyperparameter file without an entry for the env (nor `default`): the Zoo's ValueError.
    conf = tmp_path / "only_pendulum.yml"
    conf.write_text("Pendulum-v1:\n  n_timesteps: 100\n  policy: 'MlpPolicy'\n")
    args = ["train", "--algo", "qwr", "--env", "CartPole-v1", "-conf", str(conf), "-f", str(tmp_path)]
    result = run_zoo(args, cwd=tmp_path, expect_rc=1)
    assert "Hyperparameters not found for qwr-CartPole-v1" in result.stderr
