"""Runs in the TF venv: reads savepoint's TensorBoard event files with TensorFlow's record
reader (crc-checked) and protobuf, and with TensorBoard's EventAccumulator when the
``tensorboard`` package is importable. Prints one JSON line per directory."""

import glob
import json
import os
import sys

from tensorflow.python.summary import summary_iterator


def main() -> None:
    spec = json.loads(sys.argv[1])
    if spec.get("extra"):
        sys.path.insert(0, spec["extra"])  # a tensorboard installed beside the venv
    for sub in ("train", "validation"):
        [path] = glob.glob(os.path.join(spec["logdir"], sub, "events.out.tfevents.*"))
        tags = []
        for event in summary_iterator.summary_iterator(path):
            for value in event.summary.value:
                tags.append([event.step, value.tag, value.metadata.plugin_data.plugin_name])
        out = {"dir": sub, "tags": tags, "tensorboard": False}
        try:
            from tensorboard.backend.event_processing import event_accumulator
        except ImportError:
            print(json.dumps(out))
            continue
        acc = event_accumulator.EventAccumulator(
            os.path.dirname(path), size_guidance={event_accumulator.TENSORS: 0})
        acc.Reload()
        out["tensorboard"] = True
        out["tensor_tags"] = sorted(acc.Tags()["tensors"])
        out["loss"] = [[t.step, float(t.tensor_proto.float_val[0]) if t.tensor_proto.float_val
                        else float(__import__("tensorflow").make_ndarray(t.tensor_proto))]
                       for t in acc.Tensors("epoch_loss")]
        print(json.dumps(out))


if __name__ == "__main__":
    main()
