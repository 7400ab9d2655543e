"""TensorFlow's "Save and load models" tutorial (Keras 2 API), run on savepoint.

Source: https://www.tensorflow.org/tutorials/keras/save_and_load
(Copyright 2019 The TensorFlow Authors, Apache License 2.0.) The tutorial's code is kept as it
is; only the imports changed: ``import savepoint as keras`` stands for ``tf.keras``,
``savepoint.train`` for ``tf.train``, ``keras.losses``/``keras.metrics`` for
``tf.losses``/``tf.metrics``.

Each section of the tutorial is one function below. A section whose API savepoint does not have
yet is skipped with a note, so the script always runs the parts that work today.
``SAVEPOINT_EXAMPLE_EPOCHS=N`` trains N epochs wherever the tutorial trains (for quick checks);
``SAVEPOINT_OFFLINE=1`` uses the MNIST sample shipped with savepoint instead of downloading.

Run it from an empty directory (it writes ``training_1/``, ``training_2/``, ``checkpoints/``,
``saved_model/`` and ``my_model.h5`` where it runs):

    mkdir /tmp/tutorial && cd /tmp/tutorial && python /path/to/examples/save_and_load.py
"""

import os

import savepoint
import savepoint as keras


def _epochs(tutorial_value):
    """The tutorial's epoch count, or ``$SAVEPOINT_EXAMPLE_EPOCHS`` when set."""
    return int(os.environ.get("SAVEPOINT_EXAMPLE_EPOCHS", tutorial_value))


def _missing(*names):
    """The dotted names (``"keras.callbacks.ModelCheckpoint"``) savepoint does not provide yet."""
    roots = {"keras": keras, "savepoint": savepoint}
    missing = []
    for name in names:
        head, *attrs = name.split(".")
        obj = roots[head]
        for attr in attrs:
            obj = getattr(obj, attr, None)
        if obj is None:
            missing.append(name)
    return missing


# ## Setup
# ### Installs and imports

print(savepoint.__version__)

# ### Get an example dataset
#
# To demonstrate how to save and load weights, you'll use the MNIST dataset. To speed up these
# runs, use the first 1000 examples:

(train_images, train_labels), (test_images, test_labels) = keras.datasets.mnist.load_data()

train_labels = train_labels[:1000]
test_labels = test_labels[:1000]

train_images = train_images[:1000].reshape(-1, 28 * 28) / 255.0
test_images = test_images[:1000].reshape(-1, 28 * 28) / 255.0


# ### Define a model
#
# Start by building a simple sequential model:

# Define a simple sequential model
def create_model():
  model = keras.models.Sequential([
    keras.layers.Dense(512, activation='relu', input_shape=(784,)),
    keras.layers.Dropout(0.2),
    keras.layers.Dense(10)
  ])

  model.compile(optimizer='adam',
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=[keras.metrics.SparseCategoricalAccuracy()])

  return model

# Create a basic model instance
model = create_model()

# Display the model's architecture
model.summary()


def save_checkpoints_during_training():
  """## Save checkpoints during training

  You can use a trained model without having to retrain it, or pick-up training where you left
  off in case the training process was interrupted. The `keras.callbacks.ModelCheckpoint`
  callback allows you to continually save the model both *during* and at *the end* of training.

  ### Checkpoint callback usage

  Create a `keras.callbacks.ModelCheckpoint` callback that saves weights only during training:
  """
  global model
  checkpoint_path = "training_1/cp.ckpt"
  checkpoint_dir = os.path.dirname(checkpoint_path)

  # Create a callback that saves the model's weights
  cp_callback = keras.callbacks.ModelCheckpoint(filepath=checkpoint_path,
                                                save_weights_only=True,
                                                verbose=1)

  # Train the model with the new callback
  model.fit(train_images,
            train_labels,
            epochs=_epochs(10),
            validation_data=(test_images, test_labels),
            callbacks=[cp_callback])  # Pass callback to training

  # This may generate warnings related to saving the state of the optimizer.
  # These warnings (and similar warnings throughout this notebook)
  # are in place to discourage outdated usage, and can be ignored.

  # This creates a single collection of TensorFlow checkpoint files that are updated at the end
  # of each epoch:
  print(os.listdir(checkpoint_dir))

  # As long as two models share the same architecture you can share weights between them. So,
  # when restoring a model from weights-only, create a model with the same architecture as the
  # original model and then set its weights.
  #
  # Now rebuild a fresh, untrained model and evaluate it on the test set. An untrained model will
  # perform at chance levels (~10% accuracy):

  # Create a basic model instance
  model = create_model()

  # Evaluate the model
  loss, acc = model.evaluate(test_images, test_labels, verbose=2)
  print("Untrained model, accuracy: {:5.2f}%".format(100 * acc))

  # Then load the weights from the checkpoint and re-evaluate:

  # Loads the weights
  model.load_weights(checkpoint_path)

  # Re-evaluate the model
  loss, acc = model.evaluate(test_images, test_labels, verbose=2)
  print("Restored model, accuracy: {:5.2f}%".format(100 * acc))


def checkpoint_callback_options():
  """### Checkpoint callback options

  The callback provides several options to provide unique names for checkpoints and adjust the
  checkpointing frequency.

  Train a new model, and save uniquely named checkpoints once every five epochs:
  """
  global model
  # Include the epoch in the file name (uses `str.format`)
  checkpoint_path = "training_2/cp-{epoch:04d}.ckpt"
  checkpoint_dir = os.path.dirname(checkpoint_path)

  batch_size = 32

  # Calculate the number of batches per epoch
  import math
  n_batches = len(train_images) / batch_size
  n_batches = math.ceil(n_batches)    # round up the number of batches to the nearest whole integer

  # Create a callback that saves the model's weights every 5 epochs
  cp_callback = keras.callbacks.ModelCheckpoint(
      filepath=checkpoint_path,
      verbose=1,
      save_weights_only=True,
      save_freq=5*n_batches)

  # Create a new model instance
  model = create_model()

  # Save the weights using the `checkpoint_path` format
  model.save_weights(checkpoint_path.format(epoch=0))

  # Train the model with the new callback
  model.fit(train_images,
            train_labels,
            epochs=_epochs(50),
            batch_size=batch_size,
            callbacks=[cp_callback],
            validation_data=(test_images, test_labels),
            verbose=0)

  # Now, review the resulting checkpoints and choose the latest one:
  print(os.listdir(checkpoint_dir))

  latest = savepoint.train.latest_checkpoint(checkpoint_dir)
  print(latest)

  # Note: The default TensorFlow format only saves the 5 most recent checkpoints.
  #
  # To test, reset the model, and load the latest checkpoint:

  # Create a new model instance
  model = create_model()

  # Load the previously saved weights
  model.load_weights(latest)

  # Re-evaluate the model
  loss, acc = model.evaluate(test_images, test_labels, verbose=2)
  print("Restored model, accuracy: {:5.2f}%".format(100 * acc))


def manually_save_weights():
  """## Manually save weights

  To save weights manually, use `keras.Model.save_weights`. By default, `keras`—and the
  `Model.save_weights` method in particular—uses the TensorFlow Checkpoint format with a `.ckpt`
  extension.
  """
  global model
  # Save the weights
  model.save_weights('./checkpoints/my_checkpoint')

  # Create a new model instance
  model = create_model()

  # Restore the weights
  model.load_weights('./checkpoints/my_checkpoint')

  # Evaluate the model
  loss, acc = model.evaluate(test_images, test_labels, verbose=2)
  print("Restored model, accuracy: {:5.2f}%".format(100 * acc))


def save_entire_model_savedmodel():
  """## Save the entire model

  Call `keras.Model.save` to save a model's architecture, weights, and training configuration in
  a single file/folder. This allows you to export a model so it can be used without access to the
  original Python code*. Since the optimizer-state is recovered, you can resume training from
  exactly where you left off.

  ### SavedModel format

  The SavedModel format is another way to serialize models. Models saved in this format can be
  restored using `keras.models.load_model`.
  """
  global model
  # Create and train a new model instance.
  model = create_model()
  model.fit(train_images, train_labels, epochs=_epochs(5))

  # Save the entire model as a SavedModel.
  os.makedirs('saved_model', exist_ok=True)  # the notebook's `!mkdir -p saved_model`
  model.save('saved_model/my_model')

  # Inspect the saved model directory:
  # my_model directory
  print(os.listdir('saved_model'))

  # Contains an assets folder, saved_model.pb, and variables folder.
  print(os.listdir('saved_model/my_model'))

  # Reload a fresh Keras model from the saved model:
  new_model = keras.models.load_model('saved_model/my_model')

  # Check its architecture
  new_model.summary()

  # The restored model is compiled with the same arguments as the original model. Try running
  # evaluate and predict with the loaded model:

  # Evaluate the restored model
  loss, acc = new_model.evaluate(test_images, test_labels, verbose=2)
  print('Restored model, accuracy: {:5.2f}%'.format(100 * acc))

  print(new_model.predict(test_images).shape)


def save_entire_model_hdf5():
  """### HDF5 format

  Keras provides a basic save format using the HDF5 standard.
  """
  global model
  # Create and train a new model instance.
  model = create_model()
  model.fit(train_images, train_labels, epochs=_epochs(5))

  # Save the entire model to a HDF5 file.
  # The '.h5' extension indicates that the model should be saved to HDF5.
  model.save('my_model.h5')

  # Now, recreate the model from that file:

  # Recreate the exact same model, including its weights and the optimizer
  new_model = keras.models.load_model('my_model.h5')

  # Show the model architecture
  new_model.summary()

  # Check its accuracy:
  loss, acc = new_model.evaluate(test_images, test_labels, verbose=2)
  print('Restored model, accuracy: {:5.2f}%'.format(100 * acc))


# Each section with the savepoint API it needs (the parts that later savepoint releases add).
SECTIONS = [
    (save_checkpoints_during_training,
     ["keras.callbacks.ModelCheckpoint", "keras.Model.load_weights"]),
    (checkpoint_callback_options,
     ["keras.callbacks.ModelCheckpoint", "keras.Model.save_weights", "keras.Model.load_weights",
      "savepoint.train.latest_checkpoint"]),
    (manually_save_weights, ["keras.Model.save_weights", "keras.Model.load_weights"]),
    (save_entire_model_savedmodel, ["keras.Model.save", "keras.models.load_model"]),
    (save_entire_model_hdf5, ["keras.Model.save", "keras.models.load_model"]),
]


def run_sections():
  """Run every section whose API savepoint provides; name the others."""
  for section, needs in SECTIONS:
    title = section.__doc__.strip().splitlines()[0].lstrip("# ")
    missing = _missing(*needs)
    if missing:
      print(f"\n[{title}] skipped: not available in savepoint yet ({', '.join(missing)}).")
      continue
    print(f"\n[{title}]")
    section()


if __name__ == "__main__":
  run_sections()
