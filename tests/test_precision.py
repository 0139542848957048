"""Mixed precision (``precision="bf16"``): float32 master weights and numerics, bfloat16 matmuls, same targets."""

import gymnasium as gym
import numpy as np
import pytest
import torch as th

from sb3_qwr import AWR, QWR
from sb3_qwr.common.functional import tanh_gate
from sb3_qwr.common.policies import QCritic

FAST = {"train_freq": 200, "n_critic_steps": 5, "n_actor_steps": 5, "batch_size": 32, "buffer_size": 1000, "seed": 0}


def test_tanh_gate_is_o_times_tanh():
    th.manual_seed(0)
    obs_embedding, z = th.randn(64, 1, 32) * 3.0, th.randn(64, 4, 32) * 4.0
    reference = obs_embedding.double() * th.tanh(z.double())  # the paper's o * tanh(W a)
    gate = tanh_gate(obs_embedding, 2.0 * z)
    assert gate.shape == (64, 4, 32)
    np.testing.assert_allclose(gate.double().numpy(), reference.numpy(), rtol=0, atol=3e-6)
    # tanh over its whole range (o = 1), including saturation and 0
    x = th.linspace(-30.0, 30.0, 100_001, dtype=th.float64).float()
    np.testing.assert_allclose(tanh_gate(th.ones(1), 2.0 * x).numpy(), np.tanh(x.double().numpy()), rtol=0, atol=3e-7)
    assert tanh_gate(th.ones(3), th.zeros(3)).abs().max() == 0.0
    # gradients reach both factors as through o * tanh(z)
    o1, z1 = obs_embedding.clone().requires_grad_(), z.clone().requires_grad_()
    tanh_gate(o1, 2.0 * z1).sum().backward()
    o2, z2 = obs_embedding.double().requires_grad_(), z.double().requires_grad_()
    (o2 * th.tanh(z2)).sum().backward()
    np.testing.assert_allclose(o1.grad.numpy(), o2.grad.numpy(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(z1.grad.numpy(), z2.grad.numpy(), rtol=0, atol=1e-5)


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "CartPole-v1"])
def test_q_critic_is_the_papers_gated_network(env_id):
    """QCritic's Q(s, a) = head(LayerNorm(Linear(body(s)) * tanh(W a))), written out with torch.tanh."""
    model = QWR("MlpPolicy", env_id, device="cpu", **FAST)
    critic: QCritic = model.critic
    obs = th.randn(8, *model.observation_space.shape)
    with th.no_grad():
        embedding = critic.embed_obs(obs)
        if critic.discrete:
            gate = th.tanh(critic.action_embedding.weight).unsqueeze(0)
            actions = None
        else:
            actions = th.rand(8, 3, 1) * 2 - 1
            gate = th.tanh(actions @ critic.action_embedding.weight.T + critic.action_embedding.bias)
        expected = critic.head(critic.norm(embedding.unsqueeze(-2) * gate)).squeeze(-1)
        th.testing.assert_close(critic.q_values(embedding, actions), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("algo", [QWR, AWR])
@pytest.mark.parametrize("env_id", ["Pendulum-v1", "CartPole-v1"])
def test_bf16_trains_with_float32_weights_and_optimizer_state(algo, env_id, tmp_path):
    model = algo("MlpPolicy", env_id, precision="bf16", device="cpu", **FAST).learn(400)
    for param in model.policy.parameters():
        assert param.dtype == th.float32 and th.isfinite(param).all()
    for optimizer in (model.actor.optimizer, model.critic.optimizer):
        for state in optimizer.state.values():
            assert all(value.dtype == th.float32 for value in state.values() if th.is_tensor(value) and value.dim() > 0)
    model.save(tmp_path / "model.zip")
    loaded = algo.load(tmp_path / "model.zip", device="cpu")
    assert loaded.precision == "bf16"
    loaded.set_env(gym.make(env_id))
    loaded.learn(200)


def test_bf16_critic_target_is_close_to_float32_and_stays_float32():
    model = QWR("MlpPolicy", "Pendulum-v1", device="cpu", **FAST).learn(400)
    np.random.seed(0)
    data = model.fill_next_mu(model.replay_buffer.sample(256)).samples
    th.manual_seed(0)
    with th.no_grad():
        exact = model.td_targets(data)
    model.precision = "bf16"
    th.manual_seed(0)
    with th.no_grad(), model._autocast():
        mixed = model.td_targets(data)
    assert mixed.dtype == th.float32 and exact.dtype == th.float32
    # bfloat16 keeps 8 bits of mantissa: the targets agree to about 1% of their spread.
    assert (mixed - exact).abs().max() < 0.02 * exact.std() + 1e-3
    assert (mixed - exact).abs().max() > 0  # the matmuls did run in bfloat16


@pytest.mark.parametrize("algo", [QWR, AWR])
def test_bf16_critic_output_layer_runs_in_float32(algo):
    """Under bf16 autocast the hidden layers run in bfloat16 but the scalar output layer in float32."""
    model = algo("MlpPolicy", "Pendulum-v1", precision="bf16", device="cpu", **FAST)
    critic = model.critic
    th.manual_seed(0)
    hidden = th.randn(64, 4, critic.norm.normalized_shape[0])
    *layers, output = critic.head
    with th.no_grad(), model._autocast():
        values = critic.head_output(hidden)
        inner = th.nn.Sequential(*layers)(hidden)  # bfloat16, as the output layer receives it
        all_bf16 = critic.head(hidden)  # what the output would be with the last layer under autocast too
    assert inner.dtype == th.bfloat16 and all_bf16.dtype == th.bfloat16 and values.dtype == th.float32
    # the slow reference: the last layer in float64 on the bfloat16 hidden features
    reference = inner.double() @ output.weight.double().T + output.bias.double()
    exact_error = (values.double() - reference).abs().max()
    bf16_error = (all_bf16.double() - reference).abs().max()
    assert exact_error < 1e-5 * reference.abs().max()
    assert bf16_error > 10 * exact_error  # the check can tell a bfloat16 output layer
    # the same under float32: head_output is the plain head
    with th.no_grad():
        th.testing.assert_close(critic.head_output(hidden), critic.head(hidden))


def test_unknown_precision_is_rejected():
    with pytest.raises(ValueError, match="Unknown `precision` 'fp16'"):
        QWR("MlpPolicy", "Pendulum-v1", precision="fp16")


@pytest.mark.parametrize("algo", ["qwr", "awr"])
def test_bf16_eval_trains_in_float32_and_evaluates_in_bfloat16(algo):
    model = (QWR if algo == "qwr" else AWR)("MlpPolicy", "Pendulum-v1", precision="bf16-eval", **FAST)
    seen: set[tuple[str, bool, bool]] = set()
    in_training = [False]

    def record(module, name):
        original = getattr(module, name)

        def wrapped(*args, **kwargs):
            if in_training[0]:  # collection acts in float32 with every precision
                seen.add((name, th.is_grad_enabled(), th.is_autocast_enabled("cpu")))
            return original(*args, **kwargs)

        setattr(module, name, wrapped)

    record(model.critic, "forward")
    record(model.critic_target, "forward")
    record(model.actor, "forward")
    for name in ("embed_obs", "q_values"):
        if hasattr(model.critic, name):
            record(model.critic, name)
            record(model.critic_target, name)
    if hasattr(model.actor, "log_prob"):
        record(model.actor, "log_prob")
    train = model.train

    def recorded_train(*args, **kwargs):
        in_training[0] = True
        try:
            return train(*args, **kwargs)
        finally:
            in_training[0] = False

    model.train = recorded_train  # type: ignore[method-assign]
    model.learn(400)
    training = {entry for entry in seen if entry[1]}
    evaluating = {entry for entry in seen if not entry[1]}
    assert training and all(not autocast for _, _, autocast in training), training  # every pass that trains: fp32
    assert evaluating and all(autocast for _, _, autocast in evaluating), evaluating  # every no-grad pass: bf16
    assert all(th.isfinite(param).all() for param in model.policy.parameters())


def test_bf16_eval_is_a_known_precision():
    from sb3_qwr.common.checks import PRECISIONS

    assert "bf16-eval" in PRECISIONS
