"""The ``savepoint`` command: ``savepoint demo`` runs the "Save and load models" tutorial flow.

The demo is a list of steps (``DEMO_STEPS``), each a small function taking the shared
``DemoContext``; saving features add their steps to that list (checkpoint callback, restore,
``save_weights``, whole-model save/load) without touching the others.

Example:
    $ savepoint demo --epochs 2
    $ python -m savepoint demo --workdir ./savepoint_demo --seed 1
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import Any


import savepoint
from savepoint.errors import SavepointError

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


# Later saving features insert their steps here (e.g. after "Train the model": restore from
# the checkpoint; then checkpoint options, manual save_weights, whole-model save/load).
DEMO_STEPS: list[DemoStep] = [
    DemoStep("Get an example dataset", step_load_data),
    DemoStep("Define a model", step_define_model),
]


def demo_steps() -> list[DemoStep]:
    """Every step of the demo, in the tutorial's order (saving steps come from their modules)."""
    from savepoint.demo_checkpoints import CHECKPOINT_STEPS, WHOLE_MODEL_STEPS
    from savepoint.demo_resume import step_kill_and_resume
    return DEMO_STEPS + CHECKPOINT_STEPS[:1] + [
        DemoStep("Evaluate the trained model", step_evaluate_trained),
        DemoStep("Evaluate an untrained model", step_evaluate_untrained),
    ] + CHECKPOINT_STEPS[1:] + WHOLE_MODEL_STEPS + [
        DemoStep("Kill training mid-epoch and resume it exactly", step_kill_and_resume)]


@contextlib.contextmanager
def _working_directory(workdir: str | None) -> Iterator[str]:
    """Run inside ``workdir`` (created if needed) or a temporary directory removed afterwards."""
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="savepoint_demo_"))
        os.makedirs(workdir, exist_ok=True)
        previous = os.getcwd()
        os.chdir(workdir)
        try:
            yield os.getcwd()
        finally:
            os.chdir(previous)


def run_demo(epochs: int = 10, workdir: str | None = None, seed: int = 0,
             steps: list[DemoStep] | None = None) -> DemoContext:
    """Run the demo steps in order inside ``workdir``; return the context with the results.

    Example:
        >>> ctx = run_demo(epochs=1)  # doctest: +SKIP
        >>> sorted(ctx.results)  # doctest: +SKIP
        ['trained', 'untrained']
    """
    savepoint.utils.set_random_seed(seed)
    with _working_directory(workdir) as cwd:
        print(f"Working directory: {cwd}")
        ctx = DemoContext(epochs=epochs, workdir=cwd, seed=seed)
        for number, step in enumerate(demo_steps() if steps is None else steps, start=1):
            print(f"\n== {number}. {step.title} ==")
            step.run(ctx)
    return ctx


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``savepoint`` command.

    Example:
        >>> build_parser().parse_args(["demo", "--epochs", "2"]).epochs
        2
    """
    parser = argparse.ArgumentParser(
        prog="savepoint", description="The Keras API on PyTorch, with TensorFlow checkpoints.")
    parser.add_argument("--version", action="version", version=savepoint.__version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="run the 'Save and load models' tutorial on MNIST",
                          description="Run TensorFlow's 'Save and load models' tutorial flow "
                                      "(works offline with the embedded MNIST sample).")
    demo.add_argument("--epochs", type=_positive_int, default=10,
                      help="training epochs (default: 10, as in the tutorial)")
    demo.add_argument("--workdir", default=None,
                      help="directory for the files the demo writes (default: a temporary "
                           "directory removed at the end)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``savepoint`` console script; returns the exit status.

    Example:
        >>> main(["demo", "--epochs", "1"])  # doctest: +SKIP
        0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command != "demo":
        parser.print_help()
        return 2
    try:
        run_demo(epochs=args.epochs, workdir=args.workdir, seed=args.seed)
    except SavepointError as e:
        print(f"savepoint: error: {e}", file=sys.stderr)
        return 1
    return 0


__all__ = ["DEMO_STEPS", "DemoContext", "DemoStep", "create_model", "evaluate_and_report",
           "main", "run_demo"]
