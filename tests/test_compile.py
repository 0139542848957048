"""``compile_updates=True``: the update hooks compiled by ``torch.compile``, the same math as eager mode."""

import gymnasium as gym
import numpy as np
import pytest
import torch as th

import sb3_qwr.common.precision as compile_module
from sb3_qwr import AWR, QWR

FAST = {"train_freq": 200, "n_critic_steps": 5, "n_actor_steps": 5, "batch_size": 32, "buffer_size": 1000, "seed": 0}


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "CartPole-v1"])
def test_compiled_hooks_match_eager_with_the_same_random_stream(env_id):
    """Same seed, same batch: the compiled hooks give the eager values up to float32 rounding, sampled actions
    included (PyTorch's generator, not inductor's: with inductor's the sampled backups would differ by far more)."""
    model = QWR("MlpPolicy", env_id, device="cpu", **FAST).learn(400)
    np.random.seed(0)
    data = model.fill_next_mu(model.replay_buffer.sample(64)).samples
    model.compile_updates = True
    for name in ("td_targets", "actor_loss"):
        compiled = model._hook(name)
        assert compiled is not getattr(model, name)
        outputs = []
        for hook in (getattr(model, name), compiled):
            th.manual_seed(1)
            with th.no_grad():
                outputs.append(hook(data))
        eager, fused = outputs
        if name == "actor_loss":
            for a, b in zip(eager, fused, strict=True):
                th.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)
        else:
            assert eager.shape == fused.shape == (64,)
            th.testing.assert_close(fused, eager, rtol=1e-4, atol=1e-4 * float(eager.abs().max()))
    assert model._hook("actor_loss") is model._compiled_hooks["actor_loss"]  # compiled once


@pytest.mark.parametrize(("algo", "env_id", "precision"), [(QWR, "Pendulum-v1", "bf16"), (AWR, "CartPole-v1", "fp32")])
def test_compile_updates_trains_saves_and_loads(algo, env_id, precision, tmp_path):
    model = algo("MlpPolicy", env_id, precision=precision, compile_updates=True, device="cpu", **FAST).learn(400)
    assert set(model._compiled_hooks) == {"td_targets", "actor_loss"}
    for param in model.policy.parameters():
        assert param.dtype == th.float32 and th.isfinite(param).all()
    assert model._n_updates == 2 * 10
    model.save(tmp_path / "model.zip")  # the compiled hooks are not saved
    loaded = algo.load(tmp_path / "model.zip", device="cpu")
    # built afresh at load (compiled at their first call), not read from the file
    assert loaded.compile_updates is True and set(loaded._compiled_hooks) == {"td_targets", "actor_loss"}
    assert all(loaded._compiled_hooks[name] is not model._compiled_hooks[name] for name in loaded._compiled_hooks)
    assert loaded._update_hooks == loaded._compiled_hooks
    loaded.set_env(gym.make(env_id))
    loaded.learn(200)
    assert set(loaded._compiled_hooks) == {"td_targets", "actor_loss"}


def test_a_failed_compilation_names_the_fix(monkeypatch):
    def failing_compile(fn, **kwargs):
        def run(*args):
            raise th._dynamo.exc.BackendCompilerFailed(fn, RuntimeError("InvalidCxxCompiler: no working C++ compiler"), None)

        return run

    monkeypatch.setattr(compile_module.th, "compile", failing_compile)
    model = QWR("MlpPolicy", "Pendulum-v1", compile_updates=True, device="cpu", **FAST)
    with pytest.raises(RuntimeError, match=r"C\+\+ compiler.*`compile_updates=False`"):
        model.learn(400)
