"""Learning-rate schedules against their formulas, inside optimizers, and through configs."""

import json
import math

import numpy as np
import pytest
import torch

from opt_helpers import W0, make_vars
from savepoint import optimizers
from savepoint.errors import ConfigError, UnknownObjectError
from savepoint.optimizers import SGD, schedules
from savepoint.serialization import register_serializable

STEPS = [0, 1, 3, 7, 10, 15, 25, 100]


def exponential(step, lr0=0.1, steps=10, rate=0.5, staircase=False):
    p = step / steps
    return lr0 * rate ** (np.floor(p) if staircase else p)


def inverse_time(step, lr0=0.1, steps=5, rate=0.5, staircase=False):
    p = step / steps
    return lr0 / (1 + rate * (np.floor(p) if staircase else p))


def polynomial(step, lr0=0.1, steps=10, end=0.01, power=2.0, cycle=False):
    if cycle:
        steps = steps * max(1, math.ceil(step / steps))
    else:
        step = min(step, steps)
    return (lr0 - end) * (1 - step / steps) ** power + end


def cosine(step, lr0=0.1, steps=10, alpha=0.1, target=None, warmup=0):
    if target is not None and step < warmup:
        return lr0 + (target - lr0) * step / warmup
    start = lr0 if target is None else target
    step = min(step - (warmup if target is not None else 0), steps)
    return start * ((1 - alpha) * 0.5 * (1 + np.cos(np.pi * step / steps)) + alpha)


CASES = [
    (schedules.ExponentialDecay(0.1, 10, 0.5), exponential),
    (schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True),
     lambda s: exponential(s, staircase=True)),
    (schedules.InverseTimeDecay(0.1, 5, 0.5), inverse_time),
    (schedules.InverseTimeDecay(0.1, 5, 0.5, staircase=True),
     lambda s: inverse_time(s, staircase=True)),
    (schedules.PolynomialDecay(0.1, 10, end_learning_rate=0.01, power=2.0), polynomial),
    (schedules.PolynomialDecay(0.1, 10, end_learning_rate=0.01, power=2.0, cycle=True),
     lambda s: polynomial(s, cycle=True)),
    (schedules.CosineDecay(0.1, 10, alpha=0.1), cosine),
    (schedules.CosineDecay(0.0, 10, alpha=0.1, warmup_target=0.2, warmup_steps=4),
     lambda s: cosine(s, lr0=0.0, target=0.2, warmup=4)),
]


@pytest.mark.parametrize("schedule,formula", CASES)
def test_schedule_matches_formula(schedule, formula):
    for step in STEPS:
        assert schedule(step) == pytest.approx(formula(step), rel=1e-9, abs=1e-12)


def test_piecewise_constant_boundaries_are_inclusive_on_the_left_interval():
    s = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [s(0), s(10), s(11), s(20), s(21), s(1000)] == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]


def test_cosine_decay_restarts_matches_sgdr():
    s = schedules.CosineDecayRestarts(0.1, first_decay_steps=10, t_mul=2.0, m_mul=0.5)
    assert s(0) == pytest.approx(0.1)
    assert s(5) == pytest.approx(0.05)          # half-way through the first period
    assert s(10) == pytest.approx(0.05)         # restart at m_mul * lr0
    assert s(20) == pytest.approx(0.05 * 0.5 * (1 + math.cos(math.pi * 0.5)))  # period of 20
    same = schedules.CosineDecayRestarts(0.1, 10, t_mul=1.0)
    assert same(13) == pytest.approx(0.05 * (1 + math.cos(math.pi * 0.3)))


def test_schedule_accepts_tensor_and_iterations_variable():
    s = schedules.ExponentialDecay(0.1, 10, 0.5)
    opt = SGD()
    opt.set_iterations(10)
    assert s(torch.tensor(10)) == pytest.approx(0.05)
    assert s(opt.iterations) == pytest.approx(0.05)


def test_optimizer_uses_schedule_at_iterations_before_the_update():
    s = schedules.PiecewiseConstantDecay([0, 1], [1.0, 0.5, 0.25])
    opt = SGD(learning_rate=s)
    var = make_vars()[0]
    expected = W0[0].copy()
    for lr in [1.0, 0.5, 0.25, 0.25]:  # steps 0, 1, 2, 3 of the schedule
        assert opt.learning_rate == lr
        opt.apply_gradients([(torch.ones(2, 2), var)])
        expected = expected - lr
        np.testing.assert_allclose(var.numpy(), expected, rtol=1e-6)


def test_exponential_schedule_drives_adam():
    s = schedules.ExponentialDecay(0.1, 1, 0.5)
    opt = optimizers.Adam(learning_rate=s)
    var = make_vars()[0]
    for _ in range(3):
        opt.apply_gradients([(torch.ones(2, 2), var)])
    # Constant gradient: m_hat = v_hat^(1/2) = 1, so each step moves by ~lr_t (0.1, 0.05, 0.025).
    np.testing.assert_allclose(var.numpy(), W0[0] - 0.175, atol=1e-5)


@pytest.mark.parametrize("schedule", [c[0] for c in CASES] + [
    schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1], name="pw"),
    schedules.CosineDecayRestarts(0.1, 10, t_mul=1.5, m_mul=0.9, alpha=0.01)])
def test_schedule_config_round_trip(schedule):
    config = json.loads(json.dumps(schedules.serialize(schedule)))
    assert config["class_name"] == type(schedule).__name__
    rebuilt = schedules.deserialize(config)
    assert type(rebuilt) is type(schedule)
    assert rebuilt.get_config() == schedule.get_config()
    assert type(schedule).from_config(schedule.get_config()).get_config() == \
        schedule.get_config()
    assert [rebuilt(s) for s in STEPS] == [schedule(s) for s in STEPS]


@pytest.mark.parametrize("alias", ["exponential_decay", "piecewise_constant_decay",
                                   "inverse_time_decay", "polynomial_decay", "cosine_decay",
                                   "cosine_decay_restarts"])
def test_schedules_are_registered_by_snake_case_alias(alias):
    from savepoint.serialization import builtin_objects
    assert issubclass(builtin_objects("schedules")[alias], schedules.LearningRateSchedule)


def test_optimizer_config_with_schedule_round_trips():
    opt = SGD(learning_rate=schedules.PolynomialDecay(0.1, 10, power=0.5), momentum=0.9)
    config = json.loads(json.dumps(opt.get_config()))
    assert config["learning_rate"]["class_name"] == "PolynomialDecay"
    rebuilt = SGD.from_config(config)
    assert isinstance(rebuilt._learning_rate, schedules.PolynomialDecay)
    assert rebuilt.get_config() == opt.get_config()


def test_custom_schedule_round_trips_with_registration():
    @register_serializable(package="test_opt")
    class Halving(schedules.LearningRateSchedule):
        def __init__(self, start):
            self.start = start

        def __call__(self, step):
            return self.start / 2 ** int(step)

        def get_config(self):
            return {"start": self.start}

    opt = SGD(learning_rate=Halving(0.8))
    rebuilt = optimizers.deserialize(json.loads(json.dumps(optimizers.serialize(opt))))
    assert rebuilt.get_config() == opt.get_config()
    rebuilt.set_iterations(3)
    assert rebuilt.learning_rate == 0.1


def test_unknown_schedule_in_config():
    config = {"class_name": "SGD", "config": {"learning_rate": {
        "class_name": "WarmupThing", "config": {}}}}
    with pytest.raises(UnknownObjectError, match=r"Could not locate schedule 'WarmupThing'"):
        optimizers.deserialize(config)


def test_schedules_deserialize_refuses_non_schedule():
    with pytest.raises(ConfigError, match=r"Expected a LearningRateSchedule config. Received a "
                                          r"config for SGD"):
        schedules.deserialize({"class_name": "SGD", "config": {}},
                              custom_objects={"SGD": SGD})


@pytest.mark.parametrize("make,name", [
    (lambda: schedules.ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
    (lambda: schedules.InverseTimeDecay(0.1, -1, 0.5), "decay_steps"),
    (lambda: schedules.PolynomialDecay(0.1, 0), "decay_steps"),
    (lambda: schedules.CosineDecay(0.1, 0), "decay_steps"),
    (lambda: schedules.CosineDecayRestarts(0.1, 0), "first_decay_steps"),
])
def test_non_positive_decay_steps_are_refused(make, name):
    with pytest.raises(ConfigError, match=rf"Argument {name} must be > 0. Received: {name}="):
        make()


def test_piecewise_lengths_must_match():
    with pytest.raises(ConfigError, match=r"The length of boundaries should be 1 less than the "
                                          r"length of values. Received: boundaries=\[10\] of "
                                          r"length 1, and values=\[1.0\] of length 1"):
        schedules.PiecewiseConstantDecay([10], [1.0])


def test_piecewise_boundaries_must_increase():
    with pytest.raises(ConfigError, match=r"Expected strictly increasing boundaries. Received: "
                                          r"boundaries=\[10, 5\]"):
        schedules.PiecewiseConstantDecay([10, 5], [1.0, 0.5, 0.1])


def test_cosine_negative_warmup_steps():
    with pytest.raises(ConfigError, match=r"Argument warmup_steps must be >= 0"):
        schedules.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=-1)


def test_base_schedule_must_be_overridden():
    with pytest.raises(NotImplementedError, match=r"must override __call__"):
        schedules.LearningRateSchedule()(0)
    with pytest.raises(NotImplementedError, match=r"must override get_config"):
        schedules.LearningRateSchedule().get_config()
