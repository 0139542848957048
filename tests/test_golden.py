"""
What a refactoring must not change: the numbers of seeded runs, and the files earlier versions saved
(reference files in ``tests/data``, written by ``tests/data/make_golden.py``).
"""

import importlib.util
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from sb3_qwr import AWR, QWR

DATA = Path(__file__).resolve().parent / "data"
_spec = importlib.util.spec_from_file_location("make_golden", DATA / "make_golden.py")
assert _spec is not None and _spec.loader is not None
make_golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_golden)


@pytest.mark.parametrize("name", sorted(make_golden.RUNS))
def test_seeded_run_gives_the_reference_numbers(name):
    """Every parameter after two training phases, and the stored mu, actions and rewards, as 0.2.0 gave them."""
    reference = np.load(DATA / "golden_run.npz")
    algo, env_id = make_golden.RUNS[name]
    arrays = make_golden.run_arrays(make_golden.short_run(algo, env_id), name)
    expected = {key for key in reference.files if key.startswith(f"{name}/")}
    assert set(arrays) == expected
    for key in sorted(expected):
        np.testing.assert_allclose(arrays[key], reference[key], rtol=1e-5, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("version", ["0_1_0", "0_2_0"])
@pytest.mark.parametrize(("cls", "env_id"), [(QWR, "Pendulum-v1"), (AWR, "CartPole-v1")])
def test_files_saved_by_earlier_versions_load_and_train(cls, env_id, version):
    stem = f"{cls.__name__.lower()}_v{version}"
    env = gym.make(env_id)
    model = cls.load(DATA / f"{stem}.zip", env=env, device="cpu")
    assert model.policy.action_space == env.action_space
    model.load_replay_buffer(DATA / f"{stem}_buffer.pkl")
    buffer = model.replay_buffer
    assert buffer.size() == 120 and buffer.n_step_horizon == model.n_step_horizon == 3
    stored_mu = buffer.mu[:120, 0]
    assert np.isfinite(stored_mu).all() and np.abs(stored_mu).sum() > 0
    before = {key: value.clone() for key, value in model.policy.state_dict().items()}
    model.learn(60, reset_num_timesteps=False)
    assert model.num_timesteps == 180
    changed = [key for key, value in model.policy.state_dict().items() if not (value == before[key]).all()]
    assert changed, "one training phase after loading changed no parameter"
    action, _ = model.predict(env.observation_space.sample(), deterministic=True)
    assert env.action_space.contains(np.asarray(action, dtype=env.action_space.dtype).reshape(env.action_space.shape))
