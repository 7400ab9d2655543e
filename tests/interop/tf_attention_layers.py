"""Run in the TF venv (TF_USE_LEGACY_KERAS=1) by test_attention_layers_interop.py: tf.keras
opens savepoint's ``.h5`` models and TF checkpoints of the issue 8.3/8.4 layers, and writes its
own ``.h5`` models for savepoint to open.

argv[1] is JSON ``{"read": [{"name", "h5", "ckpt", "npz"}], "write_dir": str}``; the npz holds
``x``, ``y`` (savepoint's predictions) and ``w0``.. (its weights). Exits non-zero on a mismatch.
"""

import json
import os
import sys

import numpy as np
import tf_keras as k

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attention_layer_models as zoo  # noqa: E402


def main() -> None:
    spec = json.loads(sys.argv[1])
    for entry in spec["read"]:
        data = np.load(entry["npz"])
        model = k.models.load_model(entry["h5"])
        x = zoo.inputs_of(data)
        np.testing.assert_allclose(model.predict(x, verbose=0), data["y"], rtol=1e-5,
                                   atol=1e-5)
        for i, w in enumerate(model.get_weights()):
            assert np.array_equal(w, data[f"w{i}"]), f"{entry['name']}: weight {i} differs"
        fresh = zoo.BUILDERS[entry["name"]](k)
        fresh.load_weights(entry["ckpt"]).expect_partial()
        for i, w in enumerate(fresh.get_weights()):
            assert np.array_equal(w, data[f"w{i}"]), f"{entry['name']}: ckpt weight {i}"
        np.testing.assert_allclose(fresh.predict(x, verbose=0), data["y"], rtol=1e-5,
                                   atol=1e-5)
        print(json.dumps({"read": entry["name"], "ok": True}))
    for name, build in zoo.BUILDERS.items():
        model = build(k)
        zoo.set_weights(model, 4)
        x = zoo.data(name)
        model.save(os.path.join(spec["write_dir"], f"{name}.h5"))
        np.savez(os.path.join(spec["write_dir"], f"{name}.npz"),
                 **{f"x{i}": v for i, v in enumerate(x)},
                 y=model.predict(zoo.feed(x), verbose=0),
                 **{f"w{i}": w for i, w in enumerate(model.get_weights())})
        print(json.dumps({"wrote": name}))


if __name__ == "__main__":
    main()
