"""Run in the Keras 3 venv (KERAS_BACKEND=torch) by test_attention_layers_interop.py: Keras 3
opens savepoint's ``.keras`` models of the issue 8.3/8.4 layers (Keras 3 variants: no
ThresholdedReLU, no Keras 2 hard_sigmoid) and writes its own for savepoint to open.

argv[1] is JSON ``{"read": [{"name", "keras", "npz"}], "write_dir": str}``.
"""

import json
import os
import sys

import keras
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attention_layer_models as zoo  # noqa: E402


def main() -> None:
    spec = json.loads(sys.argv[1])
    for entry in spec["read"]:
        data = np.load(entry["npz"])
        model = keras.models.load_model(entry["keras"])
        got = np.asarray(model.predict(zoo.inputs_of(data), verbose=0))
        np.testing.assert_allclose(got, data["y"],
                                   rtol=1e-5, atol=1e-5)
        for i, w in enumerate(model.get_weights()):
            assert np.array_equal(np.asarray(w), data[f"w{i}"]), f"{entry['name']}: weight {i}"
        print(json.dumps({"read": entry["name"], "ok": True}))
    for name, build in zoo.KERAS3_BUILDERS.items():
        model = build(keras, keras2_only=False)
        zoo.set_weights(model, 4)
        x = zoo.data(name)
        model.save(os.path.join(spec["write_dir"], f"{name}.keras"))
        np.savez(os.path.join(spec["write_dir"], f"{name}.npz"),
                 **{f"x{i}": v for i, v in enumerate(x)},
                 y=np.asarray(model.predict(zoo.feed(x), verbose=0)),
                 **{f"w{i}": np.asarray(w) for i, w in enumerate(model.get_weights())})
        print(json.dumps({"wrote": name}))


if __name__ == "__main__":
    main()
