"""Each optimizer's update against an independent numpy implementation of Keras's formula."""

import math

import numpy as np
import pytest
import torch

from opt_helpers import GRADS, W0, make_vars, run
from savepoint.optimizers import SGD, Adam, AdamW, RMSprop

TOL = dict(rtol=1e-5, atol=1e-6)


# ----- numpy references (float64, written from the Keras docs' formulas) ----------------------
def adam_ref(steps, lr=0.001, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False, wd=None):
    w = [x.copy() for x in W0]
    m = [np.zeros_like(x) for x in W0]
    v = [np.zeros_like(x) for x in W0]
    vhat = [np.zeros_like(x) for x in W0]
    for t in range(1, steps + 1):
        for i, g in enumerate(GRADS[t - 1]):
            if wd is not None:
                w[i] = w[i] - w[i] * wd * lr
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            m_hat = m[i] / (1 - b1 ** t)
            v_use = v[i]
            if amsgrad:
                vhat[i] = np.maximum(vhat[i], v[i])
                v_use = vhat[i]
            # Keras folds bias correction into lr and adds epsilon to sqrt(v) (not sqrt(v_hat)).
            w[i] = w[i] - lr * m_hat * math.sqrt(1 - b2 ** t) / (np.sqrt(v_use) + eps)
    return w, m, v


def sgd_ref(steps, lr, momentum=0.0, nesterov=False, wd=None):
    w = [x.copy() for x in W0]
    buf = [np.zeros_like(x) for x in W0]
    for t in range(steps):
        for i, g in enumerate(GRADS[t]):
            if wd is not None:
                w[i] = w[i] - w[i] * wd * lr
            if momentum == 0:
                w[i] = w[i] - lr * g
                continue
            buf[i] = momentum * buf[i] - lr * g
            w[i] = w[i] + (momentum * buf[i] - lr * g if nesterov else buf[i])
    return w, buf


def rmsprop_ref(steps, lr=0.001, rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    w = [x.copy() for x in W0]
    vel = [np.zeros_like(x) for x in W0]
    mom = [np.zeros_like(x) for x in W0]
    avg = [np.zeros_like(x) for x in W0]
    for t in range(steps):
        for i, g in enumerate(GRADS[t]):
            vel[i] = rho * vel[i] + (1 - rho) * g ** 2
            if centered:
                avg[i] = rho * avg[i] + (1 - rho) * g
                denominator = vel[i] - avg[i] ** 2 + eps
            else:
                denominator = vel[i] + eps
            increment = lr * g / np.sqrt(denominator)
            if momentum > 0:
                mom[i] = momentum * mom[i] + increment
                w[i] = w[i] - mom[i]
            else:
                w[i] = w[i] - increment
    return w, vel, mom, avg


def assert_all_close(actual, expected):
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, **TOL)


# ----- Adam -----------------------------------------------------------------------------------
def test_adam_first_step_by_hand():
    # Step 1: m = 0.1 g, v = 0.001 g^2, lr_t = lr sqrt(0.001) / 0.1, so
    # w1 = w0 - lr * g / (|g| + eps / sqrt(0.001)): about lr * sign(g).
    w1 = run(Adam(learning_rate=0.1), 1)
    for w0, g, w in zip(W0, GRADS[0], w1):
        by_hand = w0 - 0.1 * g / (np.abs(g) + 1e-7 / math.sqrt(0.001))
        np.testing.assert_allclose(w, by_hand, **TOL)
        np.testing.assert_allclose(w, w0 - 0.1 * np.sign(g), atol=1e-5)


@pytest.mark.parametrize("steps", [1, 2, 3])
def test_adam_matches_keras_formula(steps):
    opt = Adam(learning_rate=0.01)
    variables = make_vars()
    for t in range(steps):
        opt.apply_gradients([(torch.tensor(g, dtype=torch.float32), v)
                             for g, v in zip(GRADS[t], variables)])
    w, m, v = adam_ref(steps, lr=0.01)
    assert_all_close([x.numpy() for x in variables], w)
    assert_all_close([opt.slot(x, "m").numpy() for x in variables], m)
    assert_all_close([opt.slot(x, "v").numpy() for x in variables], v)
    assert int(opt.iterations.numpy()) == steps


def test_adam_amsgrad_matches_formula():
    assert_all_close(run(Adam(learning_rate=0.01, amsgrad=True), 4),
                     adam_ref(4, lr=0.01, amsgrad=True)[0])


def test_adam_custom_betas_and_epsilon():
    opt = Adam(learning_rate=0.05, beta_1=0.5, beta_2=0.9, epsilon=1e-3)
    assert_all_close(run(opt, 3), adam_ref(3, lr=0.05, b1=0.5, b2=0.9, eps=1e-3)[0])


# ----- AdamW ----------------------------------------------------------------------------------
def test_adamw_default_decay_is_keras_default():
    assert AdamW().weight_decay == 0.004


@pytest.mark.parametrize("wd", [0.004, 0.1])
def test_adamw_decoupled_decay_matches_formula(wd):
    assert_all_close(run(AdamW(learning_rate=0.01, weight_decay=wd), 3),
                     adam_ref(3, lr=0.01, wd=wd)[0])


def test_adamw_decay_is_applied_before_update_with_zero_gradient():
    # With g = 0 Adam's update is 0 on step 1, so only the decay w -= w * wd * lr remains.
    zero = [[np.zeros_like(x) for x in W0]]
    out = run(AdamW(learning_rate=0.5, weight_decay=0.2), 1, grads=zero)
    assert_all_close(out, [x - x * 0.2 * 0.5 for x in W0])


def test_adamw_exclude_from_weight_decay_by_name():
    opt = AdamW(learning_rate=0.01, weight_decay=0.1)
    opt.exclude_from_weight_decay(var_names=["bias"])
    out = run(opt, 3)
    decayed, plain = adam_ref(3, lr=0.01, wd=0.1)[0], adam_ref(3, lr=0.01)[0]
    np.testing.assert_allclose(out[0], decayed[0], **TOL)
    np.testing.assert_allclose(out[1], plain[1], **TOL)


def test_adamw_exclude_from_weight_decay_by_variable():
    opt = AdamW(learning_rate=0.01, weight_decay=0.1)
    variables = make_vars()
    opt.exclude_from_weight_decay(var_list=[variables[0]])
    opt.apply_gradients([(torch.zeros(2, 2), variables[0]), (torch.zeros(3), variables[1])])
    np.testing.assert_allclose(variables[0].numpy(), W0[0], **TOL)
    np.testing.assert_allclose(variables[1].numpy(), W0[1] * (1 - 0.1 * 0.01), **TOL)


def test_weight_decay_applies_to_any_optimizer_as_in_keras():
    assert_all_close(run(SGD(learning_rate=0.1, weight_decay=0.05), 3),
                     sgd_ref(3, lr=0.1, wd=0.05)[0])


def test_no_weight_decay_unless_asked():
    assert Adam().weight_decay is None
    assert_all_close(run(Adam(learning_rate=0.01), 2), adam_ref(2, lr=0.01)[0])


# ----- SGD ------------------------------------------------------------------------------------
def test_sgd_plain_matches_formula_and_keeps_tf_keras_momentum_slot():
    opt = SGD(learning_rate=0.1)
    assert_all_close(run(opt, 4), sgd_ref(4, lr=0.1)[0])
    # tf.keras creates the momentum slot even at momentum=0; keeping it makes checkpoints match.
    names = [v.name for v in opt.variables]
    assert names[0] == "iteration" and len(names) > 1
    assert all(n.endswith("_momentum") for n in names[1:])


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_matches_formula(nesterov):
    opt = SGD(learning_rate=0.1, momentum=0.9, nesterov=nesterov)
    variables = make_vars()
    for t in range(4):
        opt.apply_gradients([(torch.tensor(g, dtype=torch.float32), v)
                             for g, v in zip(GRADS[t], variables)])
    w, buf = sgd_ref(4, lr=0.1, momentum=0.9, nesterov=nesterov)
    assert_all_close([v.numpy() for v in variables], w)
    assert_all_close([opt.slot(v, "momentum").numpy() for v in variables], buf)


def test_sgd_nesterov_differs_from_plain_momentum():
    plain = run(SGD(learning_rate=0.1, momentum=0.9), 3)
    nesterov = run(SGD(learning_rate=0.1, momentum=0.9, nesterov=True), 3)
    assert not np.allclose(plain[0], nesterov[0])


# ----- RMSprop --------------------------------------------------------------------------------
@pytest.mark.parametrize("momentum,centered", [(0.0, False), (0.5, False), (0.0, True),
                                               (0.9, True)])
def test_rmsprop_matches_keras_formula(momentum, centered):
    opt = RMSprop(learning_rate=0.01, momentum=momentum, centered=centered)
    variables = make_vars()
    for t in range(4):
        opt.apply_gradients([(torch.tensor(g, dtype=torch.float32), v)
                             for g, v in zip(GRADS[t], variables)])
    w, vel, mom, avg = rmsprop_ref(4, lr=0.01, momentum=momentum, centered=centered)
    assert_all_close([v.numpy() for v in variables], w)
    assert_all_close([opt.slot(v, "velocity").numpy() for v in variables], vel)
    if momentum:
        assert_all_close([opt.slot(v, "momentum").numpy() for v in variables], mom)
    if centered:
        assert_all_close([opt.slot(v, "average_gradient").numpy() for v in variables], avg)


def test_rmsprop_defaults_are_keras_defaults():
    config = RMSprop().get_config()
    assert (config["learning_rate"], config["rho"], config["momentum"], config["epsilon"],
            config["centered"]) == (0.001, 0.9, 0.0, 1e-7, False)


def test_rmsprop_epsilon_is_inside_the_square_root():
    # g = 0 on a fresh optimizer: v = 0, update = lr * 0 / sqrt(eps) = 0; g tiny: the epsilon
    # under the root dominates, giving lr * g / sqrt(eps) rather than lr * g / eps.
    g = 1e-6
    opt = RMSprop(learning_rate=1.0, rho=0.0, epsilon=1e-4)
    out = run(opt, 1, grads=[[np.full((2, 2), g), np.full(3, g)]])
    expected = W0[0] - g / math.sqrt(g * g + 1e-4)
    np.testing.assert_allclose(out[0], expected, **TOL)
