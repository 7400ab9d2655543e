"""The tutorial's checkpoint steps for ``savepoint demo``: ModelCheckpoint, restore, save_weights.

Example:
    >>> [s.title for s in CHECKPOINT_STEPS][0]
    'Save checkpoints during training'
"""

from __future__ import annotations

import os

import savepoint as keras
from savepoint.demo.steps import DemoContext, DemoStep, create_model, evaluate_and_report
from savepoint.demo.tf_check import check_with_tensorflow, tf_python

BATCH_SIZE = 32


def step_train_with_checkpoints(ctx: DemoContext) -> None:
    """Train with ``ModelCheckpoint`` saving the weights after every epoch (``training_1``)."""
    checkpoint_path = "training_1/cp.ckpt"
    cp_callback = keras.callbacks.ModelCheckpoint(filepath=checkpoint_path,
                                                  save_weights_only=True, verbose=1)
    ctx.model.fit(ctx.train_images, ctx.train_labels, epochs=ctx.epochs,
                  validation_data=(ctx.test_images, ctx.test_labels), callbacks=[cp_callback])
    print(sorted(os.listdir(os.path.dirname(checkpoint_path))))


def step_restore_from_checkpoint(ctx: DemoContext) -> None:
    """A new model restored from ``training_1/cp.ckpt`` scores what the trained one scored."""
    model = create_model()
    model.load_weights("training_1/cp.ckpt")
    evaluate_and_report(ctx, model, "Restored")


def step_checkpoint_options(ctx: DemoContext) -> None:
    """Numbered checkpoints every 5 epochs (``save_freq`` in batches), then the latest restored."""
    checkpoint_path = "training_2/cp-{epoch:04d}.ckpt"
    checkpoint_dir = os.path.dirname(checkpoint_path)
    n_batches = -(-len(ctx.train_images) // BATCH_SIZE)
    cp_callback = keras.callbacks.ModelCheckpoint(filepath=checkpoint_path, verbose=1,
                                                  save_weights_only=True,
                                                  save_freq=5 * n_batches)
    model = create_model()
    model.save_weights(checkpoint_path.format(epoch=0))
    model.fit(ctx.train_images, ctx.train_labels, epochs=5 * ctx.epochs, batch_size=BATCH_SIZE,
              callbacks=[cp_callback], validation_data=(ctx.test_images, ctx.test_labels),
              verbose=0)
    print(sorted(os.listdir(checkpoint_dir)))
    latest = keras.train.latest_checkpoint(checkpoint_dir)
    print(f"latest checkpoint: {latest}")
    restored = create_model()
    restored.load_weights(latest)
    evaluate_and_report(ctx, restored, "Restored (latest)")


def step_manual_save_weights(ctx: DemoContext) -> None:
    """``save_weights('./checkpoints/my_checkpoint')`` then ``load_weights`` into a new model."""
    ctx.model.save_weights("./checkpoints/my_checkpoint")
    model = create_model()
    model.load_weights("./checkpoints/my_checkpoint")
    evaluate_and_report(ctx, model, "Restored (manual)")


CHECKPOINT_STEPS = [
    DemoStep("Save checkpoints during training", step_train_with_checkpoints),
    DemoStep("Restore the weights into a new model", step_restore_from_checkpoint),
    DemoStep("Checkpoint callback options", step_checkpoint_options),
    DemoStep("Manually save weights", step_manual_save_weights),
]


def step_save_whole_model(ctx: DemoContext) -> None:
    """The whole model in each format: a directory, HDF5 (Keras 2) and ``.keras`` (Keras 3);
    each is reloaded without ``create_model`` and evaluated next to the trained model, and the
    directory (TF's SavedModel too) is opened by TensorFlow itself where it is installed."""
    model = create_model()
    model.fit(ctx.train_images, ctx.train_labels, epochs=max(1, ctx.epochs // 2))
    evaluate_and_report(ctx, model, "Saved")
    for path in ("saved_model/my_model", "my_model.h5", "my_model.keras"):
        model.save(path)
        new_model = keras.models.load_model(path)
        if path.startswith("saved_model"):
            print(sorted(os.listdir(path)))
            new_model.summary()
        evaluate_and_report(ctx, new_model, f"Reloaded {path}")
        print(new_model.predict(ctx.test_images, verbose=0).shape)
        if path.startswith("saved_model"):  # TF's default format: TF itself opens it
            check_with_tensorflow(path, ctx.test_images, ctx.test_labels, tf_python())


WHOLE_MODEL_STEPS = [
    DemoStep("Save the entire model", step_save_whole_model),
]
