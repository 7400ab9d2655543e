"""The SavedModel proto schema: the field numbers of every message savepoint writes or reads.

One table for the encoder and the decoder, copied from TensorFlow 2.21's ``saved_model.proto``,
``meta_graph.proto``, ``graph.proto``, ``function.proto``, ``node_def.proto``, ``attr_value.proto``,
``op_def.proto``, ``tensor.proto``, ``saver.proto``, ``saved_object_graph.proto``, ``struct.proto``,
``fingerprint.proto`` and tf-keras's ``saved_metadata.proto`` (checked field by field against the
generated descriptors of the real packages). A class per message; its attributes are field numbers.

Example:
    >>> MetaGraphDef.object_graph_def, SavedObject.user_object, DT_RESOURCE
    (7, 4, 20)
"""

from __future__ import annotations

# tensorflow.DataType values beyond the numeric ones ``tf_checkpoint.dtypes`` knows
DT_FLOAT, DT_INT32, DT_STRING, DT_INT64, DT_BOOL, DT_RESOURCE = 1, 3, 7, 9, 10, 20
SAVER_V2 = 2                     # SaverDef.CheckpointFormatVersion.V2
SCHEMA_VERSION = 1               # SavedModel.saved_model_schema_version
GRAPH_PRODUCER, GRAPH_MIN_CONSUMER = 1882, 12   # graph_def.versions (SAVEDMODEL.md)
KERAS_METADATA_VERSION = (2, 1)  # SavedMetadata node version (producer, min_consumer)
PREDICT_METHOD = "tensorflow/serving/predict"


class SavedModel:
    saved_model_schema_version, meta_graphs = 1, 2


class MetaGraphDef:
    meta_info_def, graph_def, saver_def, collection_def, signature_def = 1, 2, 3, 4, 5
    asset_file_def, object_graph_def = 6, 7


class MetaInfoDef:
    meta_graph_version, stripped_op_list, any_info, tags = 1, 2, 3, 4
    tensorflow_version, tensorflow_git_version, stripped_default_attrs = 5, 6, 7


class SignatureDef:
    inputs, outputs, method_name = 1, 2, 3


class TensorInfo:
    name, dtype, tensor_shape = 1, 2, 3


class GraphDef:
    node, library, versions = 1, 2, 4


class FunctionDefLibrary:
    function = 1


class FunctionDef:
    signature, node_def, ret, attr = 1, 3, 4, 5


class OpDef:
    name, input_arg, output_arg, attr, is_stateful = 1, 2, 3, 4, 17


class ArgDef:
    name, type, type_attr = 1, 3, 4


class NodeDef:
    name, op, input, device, attr = 1, 2, 3, 4, 5


class AttrValue:
    list, s, i, f, b, type, shape, tensor, func = 1, 2, 3, 4, 5, 6, 7, 8, 10


class ListValue:  # AttrValue.ListValue
    s, i, f, b, type, shape, tensor, func = 2, 3, 4, 5, 6, 7, 8, 9


class NameAttrList:
    name, attr = 1, 2


class TensorProto:
    dtype, tensor_shape, tensor_content, string_val = 1, 2, 4, 8


class SaverDef:
    filename_tensor_name, save_tensor_name, restore_op_name, max_to_keep = 1, 2, 3, 4
    sharded, keep_checkpoint_every_n_hours, version = 5, 6, 7


class SavedObjectGraph:
    nodes, concrete_functions = 1, 2


class SavedObject:
    children, slot_variables, user_object, asset, function, variable = 1, 3, 4, 5, 6, 7
    bare_concrete_function, constant, resource = 8, 9, 10


class ObjectReference:  # TrackableObjectGraph.TrackableObject.ObjectReference
    node_id, local_name = 1, 2


class SavedUserObject:
    identifier, version, metadata = 1, 2, 3


class SavedVariable:
    dtype, shape, trainable, synchronization, aggregation, name = 1, 2, 3, 4, 5, 6


class SavedBareConcreteFunction:
    concrete_function_name, argument_keywords, allowed_positional_arguments = 1, 2, 3


class SavedConcreteFunction:
    bound_inputs, canonicalized_input_signature, output_signature = 2, 3, 4


class StructuredValue:
    none_value, float64_value, int64_value, string_value, bool_value = 1, 11, 12, 13, 14
    tensor_spec_value, list_value, tuple_value, dict_value = 33, 51, 52, 53


class TensorSpecProto:
    name, shape, dtype = 1, 2, 3


class MapEntry:  # every map<K, V> field is a repeated message {key = 1, value = 2}
    key, value = 1, 2


class SavedMetadata:
    nodes = 1


class KerasSavedObject:  # tf-keras's SavedMetadata.SavedObject
    node_id, node_path, identifier, metadata, version = 2, 3, 4, 5, 6


class FingerprintDef:
    saved_model_checksum, graph_def_program_hash, signature_def_hash = 1, 2, 3
    saved_object_graph_hash, checkpoint_hash, version, uuid = 4, 5, 6, 7
