"""LIVE: the keras.io transfer-learning model (``base(x, training=False)`` on a nested
Sequential with BatchNormalization) goes savepoint -> tf.keras (``.h5`` and ``to_json``) and back:
same predictions, the ``training=False`` call kept, the moving statistics untouched by
fine-tuning on both sides (tf_check_model_api.py)."""

from __future__ import annotations

import os
import sys

import numpy as np

import savepoint as keras

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "models"))
from model_api_goldens import transfer_model  # noqa: E402


def test_transfer_model_round_trips_through_tf_keras(tmp_path, run_in_tf):
    keras.utils.set_random_seed(6)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((12, 4)).astype("float32") * 2 + 1
    y = rng.standard_normal((12, 1)).astype("float32")
    model, _ = transfer_model()
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)  # BN stays in inference: training=False
    stats = model.get_layer("base").get_layer("base_bn").get_weights()
    model.save(str(tmp_path / "ours.h5"))
    (tmp_path / "ours.json").write_text(model.to_json())
    np.savez(tmp_path / "ours.npz", x=x, y=y, pred=model.predict(x, verbose=0))
    out = run_in_tf("tf_check_model_api.py", {
        "h5": str(tmp_path / "ours.h5"), "json": str(tmp_path / "ours.json"),
        "npz": str(tmp_path / "ours.npz"), "out_h5": str(tmp_path / "tf.h5"),
        "out_npz": str(tmp_path / "tf.npz")})
    assert out.strip().endswith("ok")
    theirs = np.load(tmp_path / "tf.npz")
    loaded = keras.models.load_model(str(tmp_path / "tf.h5"))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), theirs["pred"], rtol=1e-5,
                               atol=1e-6)
    for i, w in enumerate(loaded.get_weights()):
        np.testing.assert_array_equal(w, theirs[f"w{i}"])
    # tf.keras fine-tuned with the same graph: its moving statistics did not move either
    bn = loaded.get_layer("base").get_layer("base_bn").get_weights()
    np.testing.assert_array_equal(bn[2], stats[2])
    np.testing.assert_array_equal(bn[3], stats[3])
