"""The order of ``savepoint demo``'s steps, and running them inside a working directory.

Example:
    >>> hello = DemoStep("Hello", lambda ctx: print("hi"))
    >>> _ = run_demo(epochs=1, steps=[hello])  # doctest: +ELLIPSIS
    Working directory: ...
    <BLANKLINE>
    == 1. Hello ==
    hi
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

import savepoint
from savepoint.demo.checkpoints import CHECKPOINT_STEPS, WHOLE_MODEL_STEPS
from savepoint.demo.exports import EXPORT_STEPS
from savepoint.demo.resume import step_kill_and_resume
from savepoint.demo.steps import (DemoContext, DemoStep, step_define_model,
                                  step_evaluate_trained, step_evaluate_untrained, step_load_data)

# The steps before the first training; demo_steps() puts the saving steps around them.
DEMO_STEPS: list[DemoStep] = [
    DemoStep("Get an example dataset", step_load_data),
    DemoStep("Define a model", step_define_model),
]


def demo_steps() -> list[DemoStep]:
    """Every step of the demo, in the tutorial's order (saving steps come from their modules)."""
    return DEMO_STEPS + CHECKPOINT_STEPS[:1] + [
        DemoStep("Evaluate the trained model", step_evaluate_trained),
        DemoStep("Evaluate an untrained model", step_evaluate_untrained),
    ] + CHECKPOINT_STEPS[1:] + WHOLE_MODEL_STEPS + EXPORT_STEPS + [
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


__all__ = ["DEMO_STEPS", "demo_steps", "run_demo"]
