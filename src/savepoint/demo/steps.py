"""The tutorial's first steps for ``savepoint demo``: the shared context, the model, the data,
training and evaluation.

Example:
    >>> DemoContext(epochs=1, workdir=".", seed=0).results
    {}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import savepoint

NUM_EXAMPLES = 1000


@dataclasses.dataclass
class DemoContext:
    """State the demo steps share: options, the data, the models and results so far.

    Example:
        >>> ctx = DemoContext(epochs=1, workdir=".", seed=0)
        >>> ctx.results
        {}
    """

    epochs: int
    workdir: str
    seed: int
    train_images: Any = None
    train_labels: Any = None
    test_images: Any = None
    test_labels: Any = None
    model: Any = None
    results: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class DemoStep:
    """One titled step of the demo: ``run(ctx)`` prints what the tutorial shows for it.

    Example:
        >>> DemoStep("Hello", lambda ctx: print("hi")).title
        'Hello'
    """

    title: str
    run: Callable[[DemoContext], None]


def create_model() -> "savepoint.Sequential":
    """The tutorial's model: Dense(512, relu) -> Dropout(0.2) -> Dense(10) logits, with Adam.

    Example:
        >>> create_model().count_params()
        407050
    """
    keras = savepoint
    model = keras.models.Sequential([
        keras.layers.Dense(512, activation="relu", input_shape=(784,)),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10),
    ])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    return model


def step_load_data(ctx: DemoContext) -> None:
    """Load MNIST; keep the first 1000 train/test digits, flattened to 784 floats in [0, 1].

    Example:
        >>> ctx = DemoContext(epochs=1, workdir=".", seed=0)
        >>> step_load_data(ctx)  # doctest: +SKIP
        train_images (1000, 784), test_images (1000, 784)
    """
    (train_images, train_labels), (test_images, test_labels) = \
        savepoint.datasets.mnist.load_data()
    ctx.train_labels = train_labels[:NUM_EXAMPLES]
    ctx.test_labels = test_labels[:NUM_EXAMPLES]
    ctx.train_images = train_images[:NUM_EXAMPLES].reshape(-1, 28 * 28) / 255.0
    ctx.test_images = test_images[:NUM_EXAMPLES].reshape(-1, 28 * 28) / 255.0
    print(f"train_images {ctx.train_images.shape}, test_images {ctx.test_images.shape}")


def step_define_model(ctx: DemoContext) -> None:
    """Create the model and show its architecture.

    Example:
        >>> step_define_model(ctx)  # doctest: +SKIP
        Model: "sequential"
    """
    ctx.model = create_model()
    ctx.model.summary()


def step_train(ctx: DemoContext) -> None:
    """Train on the 1000 digits, validating on the 1000 test digits after each epoch.

    Example:
        >>> step_train(ctx)  # doctest: +SKIP
        Epoch 1/10
    """
    ctx.model.fit(ctx.train_images, ctx.train_labels, epochs=ctx.epochs,
                  validation_data=(ctx.test_images, ctx.test_labels))


def evaluate_and_report(ctx: DemoContext, model: Any, label: str) -> float:
    """Evaluate ``model`` on the test digits, print "<label> model, accuracy: xx.xx%", return it.

    Example:
        >>> evaluate_and_report(ctx, ctx.model, "Restored")  # doctest: +SKIP
        32/32 - 0s - loss: 0.4047 - sparse_categorical_accuracy: 0.8800
        Restored model, accuracy: 88.00%
    """
    _, acc = model.evaluate(ctx.test_images, ctx.test_labels, verbose=2)
    print("{} model, accuracy: {:5.2f}%".format(label, 100 * acc))
    ctx.results[label.lower()] = float(acc)
    return float(acc)


def step_evaluate_trained(ctx: DemoContext) -> None:
    """Evaluate the model just trained.

    Example:
        >>> step_evaluate_trained(ctx)  # doctest: +SKIP
        Trained model, accuracy: 88.60%
    """
    evaluate_and_report(ctx, ctx.model, "Trained")


def step_evaluate_untrained(ctx: DemoContext) -> None:
    """A fresh, untrained model performs at chance level (~10% accuracy).

    Example:
        >>> step_evaluate_untrained(ctx)  # doctest: +SKIP
        Untrained model, accuracy:  6.70%
    """
    evaluate_and_report(ctx, create_model(), "Untrained")
