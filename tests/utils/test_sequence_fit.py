"""keras.utils.Sequence as a fit/evaluate/predict input: batches by index, len, on_epoch_end."""

import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import ConfigError


class Batches(keras.utils.Sequence):
    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.epochs_ended, self.seen = 0, []

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, idx):
        self.seen.append(idx)
        s = slice(idx * self.batch_size, (idx + 1) * self.batch_size)
        return self.x[s], self.y[s]

    def on_epoch_end(self):
        self.epochs_ended += 1


def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3)).astype("float32")
    return x, x @ np.array([[1.0], [-2.0], [0.5]], "float32")


def model():
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    m.compile(keras.optimizers.SGD(0.1), "mse")
    return m


def test_sequence_trains_like_arrays():
    x, y = data()
    seq = Batches(x, y, 8)
    a = model()
    ha = a.fit(seq, epochs=3, verbose=0, shuffle=False)
    b = model()
    hb = b.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-6)
    assert seq.epochs_ended == 3
    assert seq.seen[:5] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(a.evaluate(Batches(x, y, 8), verbose=0),
                               b.evaluate(x, y, verbose=0), rtol=1e-6)
    assert a.predict(Batches(x, y, 16), verbose=0).shape == (40, 1)


def test_sequence_shuffle_visits_every_batch_and_validation():
    x, y = data()
    seq = Batches(x, y, 8)
    model().fit(seq, epochs=2, verbose=0, shuffle=True, validation_data=Batches(x, y, 20))
    assert sorted(seq.seen) == sorted(list(range(5)) * 2)


def test_sequence_with_y_is_refused():
    x, y = data()
    with pytest.raises(ConfigError, match="`y` argument is not supported when using a Sequence"):
        model().fit(Batches(x, y, 8), y, verbose=0)


def test_sequence_must_implement_methods():
    with pytest.raises(NotImplementedError, match="must implement __len__"):
        len(keras.utils.Sequence())
