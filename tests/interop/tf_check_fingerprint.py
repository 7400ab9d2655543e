"""Run in the TF venv by test_saved_model_fingerprint_interop.py: for each SavedModel directory
of the spec, what TensorFlow reads from its fingerprint.pb (``tf.saved_model.experimental.
read_fingerprint``, and the singleprint) and what TensorFlow itself computes for the directory
(``CreateFingerprintDef``, the function ``tf.saved_model.save`` uses), printed as JSON."""

import json
import sys

import tensorflow as tf
from tensorflow.core.protobuf import fingerprint_pb2
from tensorflow.python.saved_model.pywrap_saved_model import fingerprinting

FIELDS = ["saved_model_checksum", "graph_def_program_hash", "signature_def_hash",
          "saved_object_graph_hash", "checkpoint_hash"]


def main() -> None:
    spec = json.loads(sys.argv[1])
    out = {}
    for label, directory in spec["dirs"].items():
        read = tf.saved_model.experimental.read_fingerprint(directory)
        created = fingerprint_pb2.FingerprintDef.FromString(
            fingerprinting.CreateFingerprintDef(directory))
        out[label] = {
            "read": dict({f: getattr(read, f) for f in FIELDS}, producer=getattr(read.version, "producer", read.version),
                         singleprint=read.singleprint()),
            "created": dict({f: getattr(created, f) for f in FIELDS},
                            producer=created.version.producer),
        }
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    main()
