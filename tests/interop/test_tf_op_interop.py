"""LIVE: real tf.keras opens savepoint's ``.h5`` and ``cp.ckpt`` of a model whose graph has
TF-op layers (arithmetic, slicing, ``keras.backend`` calls on symbolic tensors: issue 8.6), and
predicts what savepoint predicts (tf_check_tfop.py). The other way (savepoint reads tf.keras's
files) is tests/layers/test_tf_op_layers.py on fixtures from tools/make_tfop_fixtures.py."""

from __future__ import annotations

import os
import sys

import numpy as np

from venv_runners import _run_script

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "saving"))
from saving_model_families import tf_op_functional, trained  # noqa: E402


def test_tf_keras_loads_our_tf_op_model(tmp_path, tf_python):
    model, x = trained(tf_op_functional)
    model.save(str(tmp_path / "m.h5"))
    model.save_weights(str(tmp_path / "cp.ckpt"))
    arrays = {"x": x, "pred": model.predict(x, verbose=0)}
    arrays.update({f"w{i}": w for i, w in enumerate(model.get_weights())})
    np.savez(tmp_path / "expected.npz", **arrays)
    out = _run_script(tf_python, "TensorFlow", {"TF_USE_LEGACY_KERAS": "1"}, "tf_check_tfop.py",
                      {"h5": str(tmp_path / "m.h5"), "ckpt": str(tmp_path / "cp.ckpt"),
                       "npz": str(tmp_path / "expected.npz")})
    assert '"ok": true' in out


def test_keras3_loads_our_tf_op_model_and_we_load_theirs(tmp_path, run_in_keras3):
    """Our TF-op layers are written as Keras 3 operations (``ops.numpy.Add`` ...): Keras 3 loads
    the ``.keras`` and predicts the same; a ``.keras`` Keras 3 writes with symbolic ops loads
    here and predicts what Keras 3 predicted."""
    import savepoint as keras
    model, x = trained(tf_op_functional)
    model.save(str(tmp_path / "ours.keras"))
    np.savez(tmp_path / "ours.npz", x=x, pred=model.predict(x, verbose=0))
    out = run_in_keras3("keras3_check_tfop.py", {
        "keras": str(tmp_path / "ours.keras"), "npz": str(tmp_path / "ours.npz"),
        "write": str(tmp_path / "theirs.keras")})
    assert '"ok": true' in out
    theirs = keras.models.load_model(str(tmp_path / "theirs.keras"), compile=False)
    data = np.load(str(tmp_path / "theirs.keras") + ".npz")
    np.testing.assert_allclose(theirs.predict(data["x"], verbose=0), data["pred"], rtol=1e-5,
                               atol=1e-6)


def test_tf_keras_runs_every_op_savepoint_records(tmp_path, tf_python):
    """Arithmetic, slicing, comparisons, keras.backend calls (and the recorders ready for
    keras.activations) as savepoint records them:
    tf.keras loads the ``.h5`` and computes the same outputs."""
    import savepoint as keras
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "layers"))
    from test_tf_op_layers import _symbolic_model
    keras.backend.clear_session()
    model = _symbolic_model()
    x = keras.Input((4, 6), name="x2")
    K = keras.backend
    extra = [x // 0.7, x % 0.7, 1.0 / (abs(x) + 1.0), K.stack([x, x], axis=1), K.max(x, axis=1),
             K.min(x, axis=-1, keepdims=True), K.prod(x, axis=1), K.log(abs(x) + 1.0),
             K.tanh(x), K.sigmoid(x), K.pow(x, 3), K.minimum(x, 0.2), K.cast(x > 0.0, "float32"),
             K.flatten(x), K.var(x, axis=1), K.std(x, axis=-1, keepdims=True),
             K.logsumexp(x, axis=1), K.cumsum(x, axis=1), K.cast(K.argmax(x), "float32"),
             K.sign(x), K.round(x * 3.0), K.sin(x), K.cos(x), K.hard_sigmoid(x),
             K.batch_flatten(x), K.dot(K.batch_flatten(x), np.ones((24, 2), "float32"))]
    from savepoint.layers.tf_op.backend_ops import ACTIVATIONS as A
    extra += [A[n](x) for n in ("relu", "softmax", "swish", "gelu", "selu", "softsign",
                                "hard_sigmoid")] + [A["gelu"](x, approximate=True)]
    model = keras.Model([model.inputs[0], x], model.outputs + extra)
    data = np.random.default_rng(5).normal(size=(3, 4, 6)).astype("float32")
    outs = model([data, data * 0.5])
    np.savez(tmp_path / "many.npz", x0=data, x1=data * 0.5,
             **{f"pred{i}": np.asarray(o) for i, o in enumerate(outs)})
    model.save(str(tmp_path / "many.h5"))
    out = _run_script(tf_python, "TensorFlow", {"TF_USE_LEGACY_KERAS": "1"}, "tf_check_tfop.py",
                      {"h5": str(tmp_path / "many.h5"), "npz": str(tmp_path / "many.npz")})
    assert '"ok": true' in out
