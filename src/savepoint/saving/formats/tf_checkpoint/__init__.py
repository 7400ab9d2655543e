"""TensorFlow checkpoints (tensor bundles), byte-compatible with TensorFlow, without TensorFlow.

A checkpoint with prefix ``p`` is ``p.index`` + ``p.data-00000-of-00001`` (more shards possible):

- ``.data-*``: raw little-endian tensor bytes, concatenated in write order, unpadded; DT_STRING
  tensors are ``varint lengths | masked crc32c of the uint32 lengths | bytes`` (``layout``).
- ``.index``: a LevelDB table (``table``): key ``""`` -> ``BundleHeaderProto{num_shards,
  endianness, version}``, tensor name -> ``BundleEntryProto{dtype, shape, shard_id, offset, size,
  crc32c}`` (``proto``); crc32c values are masked (``crc``).
- ``checkpoint``: the directory's CheckpointState text proto (``state_file``).
- ``_CHECKPOINTABLE_OBJECT_GRAPH``: a DT_STRING tensor holding a TrackableObjectGraph proto
  (``object_graph``), needed by tf.keras's object-based restore.

These modules move named numpy arrays and bytes only; they never import models or layers, and
all file access goes through ``savepoint.saving.storage``.

Example:
    >>> import numpy as np, tempfile, os
    >>> d = tempfile.mkdtemp(); prefix = os.path.join(d, "cp.ckpt")
    >>> write_bundle(prefix, {"dense/kernel": np.eye(2, dtype=np.float32)})
    >>> write_state(d, prefix)
    >>> BundleReader(latest_checkpoint(d)).get_tensor("dense/kernel").tolist()
    [[1.0, 0.0], [0.0, 1.0]]
"""

from savepoint.saving.formats.tf_checkpoint.bundle import BundleReader, bundle_exists, write_bundle
from savepoint.saving.formats.tf_checkpoint.dtypes import BFloat16Array
from savepoint.saving.formats.tf_checkpoint.object_graph import (OBJECT_GRAPH_KEY,
                                                                 TrackableObjectGraph,
                                                                 decode_object_graph,
                                                                 encode_object_graph)
from savepoint.saving.formats.tf_checkpoint.state_file import (CheckpointState,
                                                               get_checkpoint_state,
                                                               latest_checkpoint, read_state,
                                                               write_state)

__all__ = ["BFloat16Array", "BundleReader", "CheckpointState", "OBJECT_GRAPH_KEY",
           "TrackableObjectGraph", "bundle_exists", "decode_object_graph",
           "encode_object_graph", "get_checkpoint_state", "latest_checkpoint", "read_state",
           "write_bundle", "write_state"]
