"""``fit`` on every kind of input gives the same training as plain arrays, with Keras semantics
for validation_split, validation_data, shuffle, initial_epoch, steps_per_epoch, sample_weight."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint import layers as L
from savepoint.callbacks import Callback

N, D, C = 20, 4, 3
RNG = np.random.RandomState(0)
X = RNG.rand(N, D).astype("float32")
Y = RNG.randint(0, C, N)
INIT = None


def _model(compile_model=True):
    """The same tiny model (same initial weights) every time."""
    global INIT
    model = keras.Sequential([L.Dense(5, activation="relu", input_shape=(D,)), L.Dense(C)])
    if INIT is None:
        INIT = model.get_weights()
    model.set_weights(INIT)
    if compile_model:
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
    return model


def _fit_weights(x, y=None, **kwargs):
    model = _model()
    kwargs.setdefault("verbose", 0)
    kwargs.setdefault("shuffle", False)
    history = model.fit(x, y, **kwargs)
    return model.get_weights(), history


def _assert_same(a, b):
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


class BatchCounter(Callback):
    def __init__(self):
        super().__init__()
        self.batches = []

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.batches[-1] += 1


def test_training_changes_weights_and_reduces_loss():
    weights, history = _fit_weights(X, Y, batch_size=5, epochs=20)
    assert not np.array_equal(weights[0], INIT[0])
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_every_input_kind_trains_identically():
    reference, _ = _fit_weights(X, Y, batch_size=5, epochs=2)
    tensors, _ = _fit_weights(torch.from_numpy(X), torch.from_numpy(Y), batch_size=5, epochs=2)
    _assert_same(tensors, reference)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y))
    from_dataset, _ = _fit_weights(dataset, batch_size=5, epochs=2)
    _assert_same(from_dataset, reference)
    loader = torch.utils.data.DataLoader(dataset, batch_size=5)
    from_loader, _ = _fit_weights(loader, epochs=2)
    _assert_same(from_loader, reference)

    def batches():
        while True:
            for i in range(0, N, 5):
                yield X[i:i + 5], Y[i:i + 5]
    from_generator, history = _fit_weights(batches(), steps_per_epoch=4, epochs=2)
    _assert_same(from_generator, reference)
    assert len(history.history["loss"]) == 2


def test_float64_and_int_inputs_are_cast_to_float32():
    reference, _ = _fit_weights(X, Y, batch_size=5)
    as_float64, _ = _fit_weights(X.astype("float64"), Y, batch_size=5)
    _assert_same(as_float64, reference)
    ints = (X * 10).astype("int64")
    from_ints, _ = _fit_weights(ints, Y, batch_size=5)
    cast_first, _ = _fit_weights(ints.astype("float32"), Y, batch_size=5)
    _assert_same(from_ints, cast_first)
    model = _model()
    assert model.predict(ints, verbose=0).dtype == np.float32


def test_validation_split_takes_the_last_fraction_before_shuffling():
    split, history = _fit_weights(X, Y, batch_size=5, epochs=1, validation_split=0.25)
    head_only, _ = _fit_weights(X[:15], Y[:15], batch_size=5, epochs=1)
    _assert_same(split, head_only)
    model = _model()
    model.set_weights(split)
    val_loss, val_acc = model.evaluate(X[15:], Y[15:], verbose=0)
    assert history.history["val_loss"] == [pytest.approx(val_loss, rel=1e-6)]
    assert history.history["val_accuracy"] == [pytest.approx(val_acc, rel=1e-6)]
    # shuffling only mixes the training part: one batch of the first 15, in any order
    shuffled, _ = _fit_weights(X, Y, batch_size=15, epochs=1, validation_split=0.25, shuffle=True)
    one_batch, _ = _fit_weights(X[:15], Y[:15], batch_size=15)
    for u, v in zip(shuffled, one_batch):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


def test_validation_data_is_evaluated_after_each_epoch():
    vx, vy = X[:7], Y[:7]
    model = _model()
    history = model.fit(X, Y, batch_size=5, epochs=2, validation_data=(vx, vy), verbose=0)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(v) == 2 for v in history.history.values())
    val_loss, val_acc = model.evaluate(vx, vy, verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-6)
    assert history.history["val_accuracy"][-1] == pytest.approx(val_acc, rel=1e-6)


def test_history_keys_lengths_and_params():
    model = _model()
    history = model.fit(X, Y, batch_size=8, epochs=3, verbose=0)
    assert model.history is history
    assert sorted(history.history) == ["accuracy", "loss"]
    assert history.epoch == [0, 1, 2]
    assert all(len(v) == 3 and all(isinstance(x, float) for x in v)
               for v in history.history.values())
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 3}


def test_shuffle_true_changes_batch_order_and_false_keeps_it():
    keras.utils.set_random_seed(7)
    shuffled, _ = _fit_weights(X, Y, batch_size=5, epochs=1, shuffle=True)
    keras.utils.set_random_seed(7)
    again, _ = _fit_weights(X, Y, batch_size=5, epochs=1, shuffle=True)
    ordered, _ = _fit_weights(X, Y, batch_size=5, epochs=1, shuffle=False)
    _assert_same(shuffled, again)
    assert not np.array_equal(shuffled[0], ordered[0])
    # one batch holding everything: the order of samples cannot matter beyond float rounding
    full_shuffled, _ = _fit_weights(X, Y, batch_size=N, epochs=1, shuffle=True)
    full_ordered, _ = _fit_weights(X, Y, batch_size=N, epochs=1, shuffle=False)
    for u, v in zip(full_shuffled, full_ordered):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


def test_initial_epoch_numbers_epochs_from_there():
    model = _model()
    seen = []
    cb = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(epoch))
    history = model.fit(X, Y, epochs=4, initial_epoch=2, callbacks=[cb], verbose=0)
    assert seen == [2, 3] and history.epoch == [2, 3]
    assert len(history.history["loss"]) == 2


def test_steps_per_epoch_limits_batches():
    counter = BatchCounter()
    limited, history = _fit_weights(X, Y, batch_size=5, epochs=1, steps_per_epoch=2,
                                    callbacks=[counter])
    assert counter.batches == [2]
    first_ten, _ = _fit_weights(X[:10], Y[:10], batch_size=5, epochs=1)
    _assert_same(limited, first_ten)


def test_zero_sample_weight_means_no_update():
    zeros, _ = _fit_weights(X, Y, batch_size=5, epochs=2, sample_weight=np.zeros(N))
    _assert_same(zeros, INIT)
    ones, _ = _fit_weights(X, Y, batch_size=5, epochs=2, sample_weight=np.ones(N))
    plain, _ = _fit_weights(X, Y, batch_size=5, epochs=2)
    _assert_same(ones, plain)


def test_sample_weight_in_evaluate_matches_keras_reduction():
    model = _model()
    w = np.linspace(0.0, 2.0, N).astype("float32")
    logits = model.predict(X, verbose=0).astype("float64")
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    per_sample = -logp[np.arange(N), Y]
    # Keras: sum(w * loss) / batch size per batch, then the mean over batches weighted by size
    batch_losses = [(w[i:i + 8] * per_sample[i:i + 8]).sum() / len(w[i:i + 8])
                    for i in range(0, N, 8)]
    expected = np.average(batch_losses, weights=[8, 8, 4])
    got = model.evaluate(X, Y, sample_weight=w, batch_size=8, verbose=0, return_dict=True)
    assert got["loss"] == pytest.approx(expected, rel=1e-5)
    plain = model.evaluate(X, Y, batch_size=8, verbose=0, return_dict=True)
    assert plain["loss"] == pytest.approx(per_sample.mean(), rel=1e-5)
    assert plain["accuracy"] == pytest.approx(np.mean(logits.argmax(1) == Y))


def test_multi_input_fit_with_lists_and_dicts():
    def model_two():
        keras.backend.clear_session()
        keras.utils.set_random_seed(3)
        a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
        merged = L.Add()([L.Dense(4)(a), L.Dense(4)(b)])
        o1 = L.Dense(C, name="o1")(merged)
        o2 = L.Dense(1, name="o2", activation="sigmoid")(merged)
        m = keras.Model([a, b], [o1, o2])
        m.compile("adam", loss=[keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                                "binary_crossentropy"], metrics=["accuracy"])
        return m
    xa, xb = X[:, :2], RNG.rand(N, 3).astype("float32")
    y2 = (X[:, :1] > 0.5).astype("float32")
    m1 = model_two()
    h1 = m1.fit([xa, xb], [Y, y2], batch_size=5, epochs=2, shuffle=False, verbose=0)
    m2 = model_two()
    h2 = m2.fit({"a": xa, "b": xb}, {"o1": Y, "o2": y2}, batch_size=5, epochs=2, shuffle=False,
                verbose=0)
    assert sorted(h1.history) == ["loss", "o1_accuracy", "o1_loss", "o2_accuracy", "o2_loss"]
    assert h1.history == h2.history
    _assert_same(m1.get_weights(), m2.get_weights())
    for i in range(2):
        assert h1.history["loss"][i] == pytest.approx(
            h1.history["o1_loss"][i] + h1.history["o2_loss"][i], rel=1e-5)


def test_easy_synthetic_task_reaches_high_accuracy():
    keras.utils.set_random_seed(0)
    rng = np.random.RandomState(0)
    centers = rng.randn(C, 8) * 3
    labels = rng.randint(0, C, 300)
    data = (centers[labels] + rng.randn(300, 8)).astype("float32")
    model = keras.Sequential([L.Dense(16, activation="relu", input_shape=(8,)), L.Dropout(0.1),
                              L.Dense(C)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    history = model.fit(data, labels, epochs=15, batch_size=32, verbose=0)
    assert history.history["sparse_categorical_accuracy"][-1] > 0.9
    _, acc = model.evaluate(data, labels, verbose=0)
    assert acc > 0.9
    assert np.mean(model.predict(data, verbose=0).argmax(1) == labels) == pytest.approx(acc)


def test_unbuilt_sequential_is_built_by_fit():
    model = keras.Sequential([L.Dense(5, activation="relu"), L.Dense(C)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(X, Y, batch_size=5, epochs=2, verbose=0)
    assert model.built and model.count_params() == D * 5 + 5 + 5 * C + C
    assert len(history.history["loss"]) == 2
    assert model.input_names == ["dense_input"]


def test_validation_data_and_evaluate_accept_loaders():
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y))
    loader = torch.utils.data.DataLoader(dataset, batch_size=6)
    model = _model()
    history = model.fit(X, Y, batch_size=5, epochs=1, validation_data=loader, verbose=0)
    from_arrays = model.evaluate(X, Y, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(from_arrays[0], rel=1e-6)
    assert model.evaluate(dataset, verbose=0) == pytest.approx(from_arrays, rel=1e-6)
    assert model.evaluate(loader, verbose=0) == pytest.approx(from_arrays, rel=1e-6)
