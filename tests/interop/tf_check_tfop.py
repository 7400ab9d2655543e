"""Run in the TF venv (TF_USE_LEGACY_KERAS=1): tf.keras opens savepoint's ``.h5`` and TF
checkpoint of a model with TF-op layers (issue 8.6).

argv[1] is JSON ``{"h5", "ckpt", "npz"}`` (or ``{"h5", "npz"}`` for a two-input model with
many outputs: ``x0``, ``x1``, ``pred0``, ``pred1`` ...): load the ``.h5`` with ``tf.keras.models.load_model``,
check its layer classes and predictions against the npz (``x``, ``pred``, ``w0``...), then zero
the weights, restore them from savepoint's ``cp.ckpt`` with ``assert_existing_objects_matched``
and check every weight bit for bit. Exits non-zero on any mismatch.
"""

import json
import sys

import numpy as np
import tf_keras as k


def main() -> None:
    spec = json.loads(sys.argv[1])
    data = dict(np.load(spec["npz"]))
    model = k.models.load_model(spec["h5"], compile=False)
    kinds = {type(layer).__name__ for layer in model.layers}
    assert {"TFOpLambda", "SlicingOpLambda"} <= kinds, kinds
    if "pred" not in data:  # a many-output model: pred0, pred1 ... (no checkpoint)
        outs = model([data["x0"], data["x1"]])
        for i, out in enumerate(outs):
            np.testing.assert_allclose(np.asarray(out), data[f"pred{i}"], rtol=1e-5, atol=1e-5,
                                       err_msg=f"output {i} ({model.output_names[i]})")
        assert len(outs) == sum(k.startswith("pred") for k in data)
        print(json.dumps({"layers": len(model.layers), "ok": True}))
        return
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["pred"], rtol=1e-5,
                               atol=1e-6)
    weights = model.get_weights()
    model.set_weights([np.zeros_like(w) for w in weights])
    model.load_weights(spec["ckpt"]).assert_existing_objects_matched().expect_partial()
    for i, w in enumerate(model.get_weights()):
        assert np.array_equal(w, data[f"w{i}"]), f"weight {i} differs after the checkpoint"
    print(json.dumps({"layers": len(model.layers), "ok": True}))


if __name__ == "__main__":
    main()
