"""TensorFlow SavedModel protos (``saved_model.pb``, ``keras_metadata.pb``) <-> plain Python values.

``schema`` holds the field numbers both directions share; ``encode`` writes the messages.
"""
