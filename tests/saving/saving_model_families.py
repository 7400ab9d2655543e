"""Model families the whole-model format tests share: Sequential, conv Sequential with
BatchNorm, a two-input two-output functional model (Conv2D/BN/Embedding/LayerNorm/Concatenate)
and a registered subclassed model, with matching input data."""

import numpy as np

import savepoint as keras
from savepoint.utils import set_random_seed

RNG = np.random.default_rng(0)


# ----------------------------------------------------------------------------- model families
def sequential():
    return keras.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(5,)),
                             keras.layers.Dropout(0.2), keras.layers.Dense(3)])


def conv_sequential():
    return keras.Sequential([keras.layers.Conv2D(3, 3, activation="relu", input_shape=(7, 7, 1)),
                             keras.layers.BatchNormalization(), keras.layers.MaxPooling2D(),
                             keras.layers.Flatten(), keras.layers.Dense(4)])


def functional():
    image = keras.Input((6, 6, 1), name="image")
    tokens = keras.Input((5,), dtype="int32", name="tokens")
    x = keras.layers.Conv2D(2, 3)(image)
    x = keras.layers.Flatten()(keras.layers.BatchNormalization()(x))
    e = keras.layers.Embedding(12, 3)(tokens)
    e = keras.layers.GlobalAveragePooling1D()(keras.layers.LayerNormalization()(e))
    merged = keras.layers.Concatenate()([x, e])
    return keras.Model([image, tokens], [keras.layers.Dense(3, name="cls")(merged),
                                         keras.layers.Dense(1, name="reg")(merged)])


@keras.saving.register_serializable(package="saving_model_families")
class TwoLayer(keras.Model):
    """A subclassed model with a config."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(units, activation="tanh")
        self.out = keras.layers.Dense(2)

    def call(self, inputs, training=None):
        return self.out(self.hidden(inputs))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def subclassed():
    model = TwoLayer(6)
    model(np.zeros((1, 5), "float32"))
    return model


def conv1d_family():
    """Every 1-D convolution, pooling and reshaping layer (causal, dilated, strided, 'same')."""
    L = keras.layers
    return keras.Sequential([
        L.Conv1D(4, 3, padding="causal", dilation_rate=2, input_shape=(12, 3)),
        L.SeparableConv1D(4, 3, padding="same", depth_multiplier=2),
        L.DepthwiseConv1D(2, strides=2), L.ZeroPadding1D((1, 2)), L.Cropping1D((1, 0)),
        L.UpSampling1D(2), L.Conv1DTranspose(3, 3, strides=2, padding="same"),
        L.MaxPooling1D(2, padding="same"), L.AveragePooling1D(3, strides=2, padding="same"),
        L.GlobalMaxPooling1D(), L.Dense(2)])


def conv2d_family():
    """Every 2-D convolution, pooling and reshaping layer, asymmetric 'same' padding included."""
    L = keras.layers
    return keras.Sequential([
        L.Conv2D(4, 2, padding="same", groups=2, input_shape=(9, 9, 2)),
        L.DepthwiseConv2D(3, padding="same", depth_multiplier=2),
        L.SeparableConv2D(4, 3, strides=2, padding="same"),
        L.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1),
        L.ZeroPadding2D(((1, 0), (0, 1))), L.Cropping2D(((0, 1), (1, 0))),
        L.UpSampling2D(2, interpolation="bilinear"), L.MaxPooling2D(3, strides=2, padding="same"),
        L.AveragePooling2D(2, padding="same"), L.GlobalAveragePooling2D(), L.Dense(2)])


def conv3d_family():
    """Every 3-D convolution, pooling and reshaping layer."""
    L = keras.layers
    return keras.Sequential([
        L.Conv3D(2, 2, padding="same", input_shape=(4, 4, 4, 1)),
        L.Conv3DTranspose(2, 2, strides=2),
        L.MaxPooling3D(2), L.AveragePooling3D(2, padding="same"), L.ZeroPadding3D(1),
        L.Cropping3D(1), L.UpSampling3D(2), L.GlobalMaxPooling3D(keepdims=True), L.Flatten(),
        L.Dense(2)])


def preprocessing_model():
    """Image preprocessing inside the model (issue 8.5): Rescaling, an adapted Normalization
    (mean/variance/count weights), augmentations that run only in fit, Resizing, CenterCrop."""
    image = keras.Input((6, 8, 3), name="image")
    norm = keras.layers.Normalization(name="norm")
    norm.adapt(np.random.default_rng(1).random((16, 6, 8, 3), dtype=np.float32) * 255)
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(image)
    x = norm(keras.layers.Rescaling(255.0)(x))
    x = keras.layers.RandomFlip("horizontal")(x)
    x = keras.layers.RandomRotation(0.1, fill_mode="constant")(x)
    x = keras.layers.Resizing(5, 6, interpolation="bicubic")(x)
    x = keras.layers.CenterCrop(4, 4)(x)
    x = keras.layers.Conv2D(2, 3)(x)
    return keras.Model(image, keras.layers.Dense(2)(keras.layers.Flatten()(x)))


def recurrent_sequential():
    """Recurrent layers behind a padding mask (issue 8.2): Embedding(mask_zero) feeding a
    Bidirectional LSTM, TimeDistributed, a reset_after=False GRU and a SimpleRNN."""
    L = keras.layers
    return keras.Sequential([
        keras.Input((6,), dtype="int32"), L.Embedding(20, 4, mask_zero=True),
        L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode="sum"),
        L.TimeDistributed(L.Dense(3, activation="tanh")),
        L.GRU(3, reset_after=False, return_sequences=True), L.SimpleRNN(2), L.Dense(2)])


def recurrent_functional():
    """Masking, LSTM states feeding a GRU's initial_state, RNN over StackedRNNCells."""
    L = keras.layers
    inp = keras.Input((5, 3), name="series")
    x = L.Masking()(inp)
    seq, h, c = L.LSTM(4, return_sequences=True, return_state=True)(x)
    g = L.GRU(4, go_backwards=True)(seq, initial_state=[h])
    s = L.RNN(L.StackedRNNCells([L.SimpleRNNCell(3), L.LSTMCell(2)]))(seq)
    merged = L.Concatenate()([g, s, c])
    return keras.Model(inp, L.Dense(2)(merged))


def tf_op_functional():
    """Arithmetic, slicing and keras.backend calls on symbolic tensors: TF-op layers (8.6),
    MobileNetV3's hard_swish among them."""
    K, L = keras.backend, keras.layers
    inp = keras.Input((4, 5), name="series")
    h = L.Dense(6, name="proj")(inp)
    h = h * L.ReLU(6.0)(h + 3.0) * (1.0 / 6.0)
    pooled = K.concatenate([K.mean(h, axis=1), h[:, -1, ::2], K.max(2.0 - h, axis=1)])
    return keras.Model(inp, L.Dense(2, name="head")(K.relu(pooled, max_value=6.0) ** 2))


def data_for(model):
    if model.layers and isinstance(model.layers[0], keras.layers.Embedding):  # ids, 0 = padding
        ids = RNG.integers(1, 20, (8,) + tuple(model.inputs[0].shape[1:])).astype("int32")
        ids[::2, 3:] = 0
        return ids
    if isinstance(model.inputs, list) and len(model.inputs) == 2:
        return [RNG.random((8, 6, 6, 1), dtype=np.float32),
                RNG.integers(0, 12, (8, 5)).astype("int32")]
    shape = (8,) + tuple(model.inputs[0].shape[1:]) if model.inputs else (8, 5)
    return RNG.random(shape, dtype=np.float32)


def targets_for(model, n=8):
    if isinstance(model.outputs, list) and len(model.outputs) == 2:
        return [RNG.integers(0, 3, n), RNG.random((n, 1), dtype=np.float32)]
    return RNG.integers(0, 2, n)


def trained(factory):
    set_random_seed(3)
    model = factory()
    if isinstance(model.outputs, list) and len(model.outputs) == 2:
        model.compile("adam", ["sparse_categorical_crossentropy", "mse"])
    else:
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
    x = data_for(model)
    model.fit(x, targets_for(model), epochs=2, batch_size=4, verbose=0)
    return model, x


# ----------------------------------------------------------------------------- round-trip checks
def assert_same_weights(a, b):
    """The same weight paths, in order, with the same shapes, dtypes and values."""
    assert [w.path for w in b.weights] == [w.path for w in a.weights]
    for x, y in zip(a.weights, b.weights):
        assert x.shape == y.shape and x.numpy().dtype == y.numpy().dtype, x.path
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=x.path)


def assert_same_model(model, other, x):
    """``assert_same_weights`` and the same predictions for ``x``, bit for bit."""
    assert_same_weights(model, other)
    np.testing.assert_array_equal(model.predict(x, verbose=0), other.predict(x, verbose=0))


def save_and_reload(model, path):
    """``model.save(path)``, a fresh session, ``load_model(path)``: the loaded model, whose layers
    are of the same classes."""
    model.save(path)
    keras.backend.clear_session()
    loaded = keras.models.load_model(path)
    assert [type(l).__name__ for l in loaded.layers] == [type(l).__name__ for l in model.layers]
    return loaded
