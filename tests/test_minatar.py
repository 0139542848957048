"""
MinAtar (Young and Tian 2019): the ids registered by ``import sb3_qwr``, MinAtar's network
(:class:`~sb3_qwr.MinAtarCNN`) against a slow reference, QWR on a MinAtar game, and the Zoo's entries for QWR, DQN
and PPO.
"""

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import rl_zoo3.exp_manager
import torch as th
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.torch_layers import FlattenExtractor

import sb3_qwr.envs.minatar as minatar_envs
from benchmarks.suites import SUITES, expand_suite
from sb3_qwr import QWR, MinAtarCNN
from sb3_qwr.zoo import register_qwr
from sb3_qwr.zoo.config import hyperparams_file, load_hyperparams, merged_hyperparams
from tests.test_zoo import run_folder, run_zoo

pytest.importorskip("minatar")

GAMES = {"Asterix": (4, 5), "Breakout": (4, 3), "Freeway": (7, 3), "Seaquest": (10, 6), "SpaceInvaders": (6, 4)}


@pytest.mark.parametrize("game", sorted(GAMES))
def test_ids_registered_on_import(game: str) -> None:
    env = gym.make(f"MinAtar/{game}-v1")
    channels, n_actions = GAMES[game]
    assert env.observation_space.shape == (10, 10, channels) and env.observation_space.dtype == np.bool_
    assert env.action_space == gym.spaces.Discrete(n_actions)
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.bool_ and obs.shape == (10, 10, channels)
    assert env.spec.max_episode_steps == minatar_envs.MAX_EPISODE_STEPS
    # v0 keeps MinAtar's full action set.
    assert gym.make(f"MinAtar/{game}-v0").action_space == gym.spaces.Discrete(6)


def test_missing_minatar_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minatar_envs, "minatar_installed", lambda: False)
    with pytest.raises(ModuleNotFoundError, match=r'pip install "sb3-qwr\[minatar\]"'):
        minatar_envs.check_minatar_env_id("MinAtar/Breakout-v1")
    minatar_envs.check_minatar_env_id("CartPole-v1")  # other ids are not MinAtar's business
    assert minatar_envs.register_minatar_envs() is False


def reference_minatar_net(extractor: MinAtarCNN, obs: np.ndarray) -> np.ndarray:
    """MinAtar's network written out with loops over the definition: 3x3 valid convolution, ReLU, linear, ReLU."""
    conv, linear = extractor.cnn[0], extractor.linear[0]
    weight, bias = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    out = []
    for frame in obs.astype(np.float64):  # (H, W, C), channels last
        height, width, _ = frame.shape
        maps = np.zeros((16, height - 2, width - 2))
        for f in range(16):
            for i in range(height - 2):
                for j in range(width - 2):
                    patch = frame[i : i + 3, j : j + 3, :]  # (3, 3, C)
                    maps[f, i, j] = np.sum(patch * weight[f].transpose(1, 2, 0)) + bias[f]
        hidden = np.maximum(maps, 0).reshape(-1)  # flattened as (channel, row, column), as PyTorch does
        out.append(np.maximum(linear.weight.detach().numpy() @ hidden + linear.bias.detach().numpy(), 0))
    return np.stack(out)


def test_minatar_cnn_against_reference() -> None:
    space = gym.spaces.Box(0, 1, (10, 10, 6), np.bool_)
    extractor = MinAtarCNN(space)
    assert extractor.features_dim == 128
    obs = np.random.default_rng(0).random((3, 10, 10, 6)) < 0.3
    with th.no_grad():
        ours = extractor(th.as_tensor(obs).float()).numpy()
    np.testing.assert_allclose(ours, reference_minatar_net(extractor, obs), rtol=1e-4, atol=1e-5)
    # Channels first gives the same function of the same frames.
    first = MinAtarCNN(gym.spaces.Box(0, 1, (6, 10, 10), np.bool_), channels_last=False)
    first.load_state_dict(extractor.state_dict())
    with th.no_grad():
        np.testing.assert_allclose(first(th.as_tensor(obs.transpose(0, 3, 1, 2)).float()).numpy(), ours, rtol=1e-5)


def test_minatar_cnn_bad_spaces() -> None:
    with pytest.raises(ValueError, match="rank 3"):
        MinAtarCNN(gym.spaces.Box(0, 1, (10, 10), np.float32))
    with pytest.raises(ValueError, match="at least 3x3"):
        MinAtarCNN(gym.spaces.Box(0, 1, (10, 2, 4), np.float32))


def test_qwr_on_minatar_uses_the_network(tmp_path: Path) -> None:
    env = gym.make("MinAtar/Breakout-v1")
    kwargs = {"n_critic_steps": 5, "n_actor_steps": 5, "train_freq": 100, "batch_size": 16, "buffer_size": 500, "seed": 0}
    model = QWR("CnnPolicy", env, policy_kwargs={"features_extractor_class": MinAtarCNN}, **kwargs)
    # MinAtar's network is convolutional: no hidden layers after it, the CNN gradient clip of the reference code.
    assert model.policy.net_arch == [] and model._max_grad_norm == 0.5
    assert isinstance(model.actor.features_extractor, MinAtarCNN)
    assert isinstance(model.critic.features_extractor, MinAtarCNN)
    assert model.actor.features_extractor is not model.critic.features_extractor
    model.learn(300)
    # The buffer keeps MinAtar's bool frames as they are (1 byte per cell).
    assert model.replay_buffer.observations.dtype == np.bool_
    model.save(tmp_path / "qwr")
    loaded = QWR.load(tmp_path / "qwr", env=env)
    obs, _ = env.reset(seed=1)
    assert loaded.predict(obs, deterministic=True)[0] == model.predict(obs, deterministic=True)[0]
    flat = QWR("MlpPolicy", env, **kwargs)
    assert isinstance(flat.actor.features_extractor, FlattenExtractor) and flat._max_grad_norm == 50.0


def test_zoo_entries_for_qwr_dqn_ppo() -> None:
    register_qwr()
    ids = [f"MinAtar/{game}-v1" for game in GAMES]
    namespace = vars(rl_zoo3.exp_manager)
    qwr = load_hyperparams(hyperparams_file("qwr"))
    for env_id in ids:
        assert eval(qwr[env_id]["policy_kwargs"], namespace) == {"features_extractor_class": MinAtarCNN}
        assert qwr[env_id]["policy"] == "CnnPolicy" and "frame_stack" not in qwr[env_id]
    for algo in ("dqn", "ppo"):
        merged = merged_hyperparams(algo)
        for env_id in ids:
            entry = merged[env_id]
            policy_kwargs = eval(entry["policy_kwargs"], namespace)  # as the Zoo's ExperimentManager does
            assert policy_kwargs["features_extractor_class"] is MinAtarCNN and policy_kwargs["net_arch"] == []
            assert entry["n_timesteps"] == 1e5 and "frame_stack" not in entry
    dqn = merged_hyperparams("dqn")["MinAtar/Breakout-v1"]
    # The MinAtar paper's DQN.
    assert (dqn["buffer_size"], dqn["learning_starts"], dqn["batch_size"], dqn["target_update_interval"]) == (
        100_000,
        5000,
        32,
        1000,
    )
    assert eval(dqn["policy_kwargs"], namespace)["optimizer_class"] is th.optim.RMSprop
    # The Zoo's own DQN entries stay.
    assert "CartPole-v1" in merged_hyperparams("dqn")


def test_zoo_train_minatar(tmp_path: Path) -> None:
    run_zoo(
        [
            "train",
            "--algo",
            "dqn",
            "--env",
            "MinAtar/Breakout-v1",
            "-n",
            "600",
            "-f",
            str(tmp_path),
            "--seed",
            "0",
            "-params",
            "learning_starts:100",
        ],
        tmp_path,
    )
    model = DQN.load(run_folder(tmp_path, "dqn", "MinAtar-Breakout-v1") / "MinAtar-Breakout-v1.zip")
    assert isinstance(model.policy.q_net.features_extractor, MinAtarCNN)
    run_zoo(
        ["train", "--algo", "ppo", "--env", "MinAtar/Breakout-v1", "-n", "1024", "-f", str(tmp_path), "--seed", "0"], tmp_path
    )
    model = PPO.load(run_folder(tmp_path, "ppo", "MinAtar-Breakout-v1") / "MinAtar-Breakout-v1.zip")
    assert isinstance(model.policy.features_extractor, MinAtarCNN)
    run_zoo(
        [
            "train",
            "--algo",
            "qwr",
            "--env",
            "MinAtar/Breakout-v1",
            "-n",
            "200",
            "-f",
            str(tmp_path),
            "--seed",
            "0",
            "-params",
            "n_critic_steps:5",
            "n_actor_steps:5",
            "train_freq:100",
            "batch_size:16",
        ],
        tmp_path,
    )
    model = QWR.load(run_folder(tmp_path, "qwr", "MinAtar-Breakout-v1") / "MinAtar-Breakout-v1.zip")
    assert isinstance(model.actor.features_extractor, MinAtarCNN) and model.num_timesteps == 200


def test_minatar100k_suite() -> None:
    suite = SUITES["minatar100k"]
    runs = expand_suite(suite)
    assert len(runs) == 5 * 5 * 3 and {run.n_timesteps for run in runs} == {100_000}
    assert {run.variant for run in runs} == {"qwr-lse", "qwr-max", "qwr-avg", "dqn", "ppo"}
    # A "/" in the env id would make a folder level: run names write it "-".
    assert all("/" not in run.name for run in runs)
    assert runs[0].name == "qwr-lse__MinAtar-Asterix-v1__seed0"
