"""The Optimizer contract: clipping, variables, aliases, configs, bad arguments, state handling."""

import json

import numpy as np
import pytest
import torch

from opt_helpers import W0, make_vars, run
from savepoint import optimizers
from savepoint.errors import ConfigError, ShapeError, UnknownObjectError
from savepoint.layers.variable import Variable
from savepoint.optimizers import SGD, Adam, AdamW, Optimizer, RMSprop, schedules

ALL = [SGD, Adam, AdamW, RMSprop]
BIG = [np.array([[3.0, -4.0], [0.0, 0.0]]), np.array([0.5, 0.0, 0.0])]


# ----- clipping -------------------------------------------------------------------------------
def test_clipnorm_rescales_each_gradient():
    out = run(SGD(learning_rate=1.0, clipnorm=1.0), 1, grads=[BIG])
    np.testing.assert_allclose(out[0], W0[0] - BIG[0] / 5.0, rtol=1e-6)
    np.testing.assert_allclose(out[1], W0[1] - BIG[1], rtol=1e-6)  # norm 0.5: unchanged


def test_global_clipnorm_rescales_all_gradients_together():
    total = np.sqrt(25.0 + 0.25)
    out = run(SGD(learning_rate=1.0, global_clipnorm=2.0), 1, grads=[BIG])
    for w0, g, w in zip(W0, BIG, out):
        np.testing.assert_allclose(w, w0 - g * 2.0 / total, rtol=1e-6)


def test_global_clipnorm_leaves_small_gradients_alone():
    out = run(SGD(learning_rate=1.0, global_clipnorm=100.0), 1, grads=[BIG])
    for w0, g, w in zip(W0, BIG, out):
        np.testing.assert_allclose(w, w0 - g, rtol=1e-6)


def test_clipvalue_clamps_elements():
    out = run(SGD(learning_rate=1.0, clipvalue=0.5), 1, grads=[BIG])
    for w0, g, w in zip(W0, BIG, out):
        np.testing.assert_allclose(w, w0 - np.clip(g, -0.5, 0.5), rtol=1e-6)


def test_clipnorm_takes_precedence_over_clipvalue_as_in_keras():
    out = run(SGD(learning_rate=1.0, clipnorm=1.0, clipvalue=0.1), 1, grads=[BIG])
    np.testing.assert_allclose(out[0], W0[0] - BIG[0] / 5.0, rtol=1e-6)


def test_clipping_does_not_modify_the_callers_gradients():
    grad = torch.tensor([[3.0, -4.0], [0.0, 0.0]])
    SGD(clipnorm=1.0).apply_gradients([(grad, make_vars()[0])])
    assert grad.tolist() == [[3.0, -4.0], [0.0, 0.0]]


# ----- variables ------------------------------------------------------------------------------
def test_adam_variables_interleave_m_and_v_per_variable():
    opt = Adam()
    opt.build(make_vars())
    names = [v.name for v in opt.variables]
    assert names == ["iteration", "dense_kernel_m", "dense_kernel_v", "dense_bias_m",
                     "dense_bias_v"]
    assert [v.shape for v in opt.variables] == [(), (2, 2), (2, 2), (3,), (3,)]
    assert opt.variables[1].path == "Adam/m/dense/kernel"  # tf.keras's full name
    assert opt.variables[0].dtype == "int64"
    assert all(v.dtype == "float32" for v in opt.variables[1:])


def test_amsgrad_appends_vhat_after_all_m_v():
    opt = Adam(amsgrad=True)
    opt.build(make_vars())
    assert [v.name for v in opt.variables] == [
        "iteration", "dense_kernel_m", "dense_kernel_v", "dense_bias_m", "dense_bias_v",
        "dense_kernel_vhat", "dense_bias_vhat"]


def test_rmsprop_variables_are_grouped_by_slot_as_in_tf_keras():
    opt = RMSprop(momentum=0.9, centered=True)
    opt.build(make_vars())
    assert [v.name for v in opt.variables] == [
        "iteration", "dense_kernel_velocity", "dense_bias_velocity", "dense_kernel_momentum",
        "dense_bias_momentum", "dense_kernel_average_gradient", "dense_bias_average_gradient"]


def test_sgd_momentum_slot():
    opt = SGD(momentum=0.5)
    opt.build(make_vars())
    assert [v.name for v in opt.variables] == ["iteration", "dense_kernel_momentum",
                                               "dense_bias_momentum"]


def test_slot_of_unknown_variable_is_an_error():
    opt = Adam()
    opt.build(make_vars())
    other = make_vars(prefix="other")[0]
    with pytest.raises(ConfigError, match=r"Variable 'other/kernel' has no 'm' slot in adam"):
        opt.slot(other, "m")
    with pytest.raises(ConfigError, match=r"has no 'momentum' slot"):
        opt.slot(opt._tracked[0], "momentum")


def test_none_gradient_leaves_variable_and_slots_untouched():
    opt = Adam(learning_rate=0.1)
    kernel, bias = make_vars()
    opt.apply_gradients([(torch.ones(2, 2), kernel), (None, bias)])
    np.testing.assert_array_equal(bias.numpy(), W0[1].astype(np.float32))
    assert np.all(opt.slot(bias, "m").numpy() == 0)
    assert len(opt.variables) == 5  # built for both, as Keras builds for every variable passed


def test_all_none_gradients_is_a_no_op():
    opt = SGD()
    variables = make_vars()
    opt.apply_gradients([(None, v) for v in variables])
    assert int(opt.iterations.numpy()) == 0


def test_step_uses_grad_attribute():
    opt = SGD(learning_rate=0.5)
    kernel, bias = make_vars()
    kernel.value.grad = torch.ones(2, 2)
    opt.step([kernel, bias])  # bias.grad is None: skipped
    np.testing.assert_allclose(kernel.numpy(), W0[0] - 0.5, rtol=1e-6)
    np.testing.assert_allclose(bias.numpy(), W0[1], rtol=1e-6)


def test_rebuild_keeps_known_slots_and_adds_new_ones():
    opt = SGD(learning_rate=0.1, momentum=0.9)
    kernel, bias = make_vars()
    opt.apply_gradients([(torch.ones(2, 2), kernel)])
    before = opt.slot(kernel, "momentum").clone()
    opt.apply_gradients([(None, kernel), (torch.ones(3), bias)])
    assert torch.equal(opt.slot(kernel, "momentum"), before)
    assert [v.name for v in opt.variables] == ["iteration", "dense_kernel_momentum",
                                               "dense_bias_momentum"]


def test_slots_follow_variable_dtype_change():
    layer = torch.nn.Module()
    layer.kernel = torch.nn.Parameter(torch.ones(2))
    var = Variable(name="kernel", path="d/kernel", owner=layer, attr="kernel", trainable=True)
    opt = Adam(learning_rate=0.1)
    opt.apply_gradients([(torch.ones(2), var)])
    layer.double()  # what model.to(dtype / device) does: the same Parameter, new storage
    opt.apply_gradients([(torch.ones(2, dtype=torch.float64), var)])
    assert opt.slot(var, "m").dtype == torch.float64
    assert var.value.dtype == torch.float64


def test_variables_are_keyed_by_tensor_not_handle():
    opt = SGD(momentum=0.9)
    param = torch.nn.Parameter(torch.ones(2))
    for _ in range(2):  # fresh handles on the same tensor, as model.trainable_weights gives
        opt.apply_gradients([(torch.ones(2), Variable(param, name="w", path="w"))])
    assert len(opt.variables) == 2


def test_gradient_shape_mismatch_is_reported():
    with pytest.raises(ShapeError, match=r"Gradient for variable 'dense/kernel' has shape "
                                         r"\(3,\), expected \(2, 2\)"):
        SGD().apply_gradients([(torch.ones(3), make_vars()[0])])


def test_gradient_count_mismatch_is_reported():
    with pytest.raises(ConfigError, match=r"Expected one gradient per variable. Received 1 "
                                          r"gradients for 2 variables"):
        SGD().apply([torch.ones(2, 2)], make_vars())


def test_numpy_gradients_are_accepted():
    out = make_vars()
    SGD(learning_rate=1.0).apply_gradients([(np.ones((2, 2)), out[0])])
    np.testing.assert_allclose(out[0].numpy(), W0[0] - 1.0, rtol=1e-6)


# ----- iterations and restore -----------------------------------------------------------------
def test_iterations_assigned_from_outside_drive_the_schedule():
    schedule = schedules.PiecewiseConstantDecay([5], [1.0, 0.1])
    opt = SGD(learning_rate=schedule)
    assert opt.learning_rate == 1.0
    opt.iterations.assign(np.array(10))  # what a checkpoint restore does
    assert opt.learning_rate == pytest.approx(0.1)
    var = make_vars()[0]
    opt.apply_gradients([(torch.ones(2, 2), var)])
    np.testing.assert_allclose(var.numpy(), W0[0] - 0.1, rtol=1e-6)
    assert int(opt.iterations.numpy()) == 11


def test_set_iterations_changes_adam_bias_correction():
    fresh, resumed = Adam(learning_rate=0.1), Adam(learning_rate=0.1)
    resumed.set_iterations(1000)
    a, b = run(fresh, 1), run(resumed, 1)
    assert not np.allclose(a[0], b[0])


def test_deferred_restore_assigns_slots_when_built():
    opt = Adam()
    values = {1: np.full((2, 2), 0.5, np.float32), 4: np.full(3, 2.0, np.float32)}
    opt._check_deferred(values)
    opt._defer_restore(values)
    opt.build(make_vars())
    np.testing.assert_array_equal(opt.variables[1].numpy(), values[1])
    np.testing.assert_array_equal(opt.variables[4].numpy(), values[4])
    assert np.all(opt.variables[2].numpy() == 0)


def test_deferred_restore_checks_shapes_and_positions():
    opt = Adam()
    opt.build(make_vars())
    with pytest.raises(ShapeError, match=r"'Adam/m/dense/kernel' \(#1\): checkpoint has \(3,\), "
                                         r"optimizer has \(2, 2\)"):
        opt._defer_restore({1: np.zeros(3, np.float32)})
    with pytest.raises(ConfigError, match=r"holds optimizer variable #9 but adam has only 5"):
        opt._defer_restore({9: np.zeros(3, np.float32)})
    with pytest.raises(ConfigError, match=r"positions >= 1 \(0 is 'iteration'\)"):
        opt._check_deferred({0: np.zeros(())})


# ----- learning rate --------------------------------------------------------------------------
def test_learning_rate_is_settable_and_lr_is_an_alias():
    opt = Adam()
    opt.learning_rate = 0.5
    assert opt.lr == 0.5
    opt.lr = 0.25
    assert opt.learning_rate == 0.25


def test_learning_rate_of_a_schedule_cannot_be_set_to_a_float():
    opt = SGD(learning_rate=schedules.ExponentialDecay(0.1, 10, 0.9))
    with pytest.raises(ConfigError, match=r"was created with a LearningRateSchedule .* cannot "
                                          r"be set to 0.5"):
        opt.learning_rate = 0.5


def test_lr_keyword_is_accepted():
    assert SGD(lr=0.3).learning_rate == 0.3


# ----- bad arguments --------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ALL)
def test_negative_learning_rate_is_refused(cls):
    with pytest.raises(ConfigError, match=r"Expected learning_rate to be a non-negative finite "
                                          r"float. Received: learning_rate=-0.1"):
        cls(learning_rate=-0.1)


def test_non_numeric_learning_rate_is_refused():
    with pytest.raises(ConfigError, match=r"Expected learning_rate to be a float or a "
                                          r"LearningRateSchedule. Received: 'fast'"):
        Adam(learning_rate="fast")


def test_clipnorm_and_global_clipnorm_together_are_refused():
    with pytest.raises(ConfigError, match=r"Only one of clipnorm and global_clipnorm can be set. "
                                          r"Received: clipnorm=1.0, global_clipnorm=2.0"):
        Adam(clipnorm=1.0, global_clipnorm=2.0)


@pytest.mark.parametrize("name", ["clipnorm", "clipvalue", "global_clipnorm", "weight_decay"])
def test_negative_clip_and_decay_values_are_refused(name):
    with pytest.raises(ConfigError, match=rf"Expected {name} to be a non-negative float or None."
                                          rf" Received: {name}=-1"):
        SGD(**{name: -1})


def test_unknown_keyword_is_refused():
    with pytest.raises(ConfigError, match=r"Adam got unexpected keyword argument\(s\) "
                                          r"\['beta1'\]"):
        Adam(beta1=0.9)


@pytest.mark.parametrize("kwargs,match", [
    ({"use_ema": True}, r"does not support use_ema=True"),
    ({"decay": 0.1}, r"does not support decay=0.1.*InverseTimeDecay"),
    ({"gradient_accumulation_steps": 4}, r"does not support gradient_accumulation_steps=4"),
])
def test_unsupported_keras_options_are_refused(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        SGD(**kwargs)


def test_keras_only_defaults_are_accepted():
    opt = SGD(use_ema=False, jit_compile=True, is_legacy_optimizer=False, decay=0.0)
    assert opt.learning_rate == 0.01


def test_sgd_momentum_out_of_range():
    with pytest.raises(ConfigError, match=r"momentum must be a float between \[0, 1\]. "
                                          r"Received: momentum=1.5"):
        SGD(momentum=1.5)


def test_rmsprop_negative_momentum():
    with pytest.raises(ConfigError, match=r"momentum must be a non-negative float. Received: "
                                          r"momentum=-0.1"):
        RMSprop(momentum=-0.1)


def test_adamw_requires_weight_decay():
    with pytest.raises(ConfigError, match=r"AdamW requires a float weight_decay. Received: "
                                          r"weight_decay=None"):
        AdamW(weight_decay=None)


def test_exclude_from_weight_decay_after_build_is_refused():
    opt = AdamW()
    opt.build(make_vars())
    with pytest.raises(ConfigError, match=r"exclude_from_weight_decay\(\) must be called before "
                                          r"adamw is built"):
        opt.exclude_from_weight_decay(var_names=["bias"])


def test_base_update_must_be_overridden():
    with pytest.raises(NotImplementedError, match=r"Optimizer must implement update"):
        Optimizer().apply_gradients([(torch.ones(2, 2), make_vars()[0])])


# ----- get and aliases ------------------------------------------------------------------------
@pytest.mark.parametrize("alias,cls", [("sgd", SGD), ("adam", Adam), ("adamw", AdamW),
                                       ("rmsprop", RMSprop), ("Adam", Adam), ("SGD", SGD),
                                       ("RMSprop", RMSprop), ("AdamW", AdamW)])
def test_get_resolves_aliases_to_fresh_instances(alias, cls):
    a, b = optimizers.get(alias), optimizers.get(alias)
    assert type(a) is cls and a is not b


def test_get_returns_instances_unchanged():
    opt = SGD()
    assert optimizers.get(opt) is opt


def test_get_unknown_alias_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"Unknown optimizer 'lion'. Expected one of: "
                                          r"\['adadelta', 'adagrad', 'adam', 'adamax', 'adamw', "
                                          r"'ftrl', 'lossscaleoptimizer', 'nadam', 'rmsprop', "
                                          r"'sgd'\]"):
        optimizers.get("lion")


def test_get_wrong_type():
    with pytest.raises(ConfigError, match=r"Expected an optimizer name, config or instance. "
                                          r"Received: 3 of type int"):
        optimizers.get(3)


def test_get_config_dict_with_unknown_class():
    with pytest.raises(UnknownObjectError, match=r"Could not locate optimizer 'Lion'"):
        optimizers.get({"class_name": "Lion", "config": {}})


def test_deserialize_refuses_a_non_optimizer_config():
    config = schedules.serialize(schedules.ExponentialDecay(0.1, 10, 0.9))
    with pytest.raises(UnknownObjectError, match=r"Could not locate optimizer "
                                                 r"'ExponentialDecay'"):
        optimizers.deserialize(config)


# ----- config round trip ----------------------------------------------------------------------
CONFIGURED = [
    lambda: SGD(learning_rate=0.05, momentum=0.8, nesterov=True, clipnorm=1.0),
    lambda: Adam(learning_rate=0.002, beta_1=0.8, amsgrad=True, global_clipnorm=2.0),
    lambda: AdamW(learning_rate=0.003, weight_decay=0.01, clipvalue=0.5, name="my_adamw"),
    lambda: RMSprop(learning_rate=0.004, rho=0.8, momentum=0.5, centered=True),
    lambda: SGD(learning_rate=schedules.ExponentialDecay(0.1, 3, 0.5, staircase=True)),
    lambda: Adam(learning_rate=schedules.CosineDecay(0.0, 10, warmup_target=0.1,
                                                     warmup_steps=2)),
]


@pytest.mark.parametrize("make", CONFIGURED)
def test_config_round_trip_gives_identical_config_and_updates(make):
    opt = make()
    config = json.loads(json.dumps(optimizers.serialize(opt)))
    rebuilt = optimizers.deserialize(config)
    assert type(rebuilt) is type(opt)
    assert rebuilt.get_config() == opt.get_config()
    again = type(opt).from_config(opt.get_config())
    assert again.get_config() == opt.get_config()
    for a, b in zip(run(make(), 3), run(rebuilt, 3)):
        np.testing.assert_array_equal(a, b)


def test_config_has_tf_keras_keys():
    config = Adam().get_config()
    assert config == {"name": "adam", "weight_decay": None, "clipnorm": None,
                      "global_clipnorm": None, "clipvalue": None, "use_ema": False,
                      "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                      "jit_compile": False, "is_legacy_optimizer": False,
                      "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999,
                      "epsilon": 1e-7, "amsgrad": False}


def test_tf_keras_style_config_loads():
    config = {"class_name": "Adam", "config": {
        "name": "Adam", "weight_decay": None, "clipnorm": None, "global_clipnorm": None,
        "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
        "ema_overwrite_frequency": None, "jit_compile": True, "is_legacy_optimizer": False,
        "learning_rate": 0.0010000000474974513, "beta_1": 0.9, "beta_2": 0.999,
        "epsilon": 1e-07, "amsgrad": False}}
    opt = optimizers.get(config)
    assert isinstance(opt, Adam) and opt.name == "Adam"
    assert opt.learning_rate == pytest.approx(0.001)
