"""The "Save and load models" tutorial flow that ``savepoint demo`` runs, as a list of steps.

Each step is a small function of the shared ``DemoContext``: ``steps`` loads the data, builds,
trains and evaluates the tutorial model; ``checkpoints`` saves and restores checkpoints and whole
models; ``resume`` kills a training process and resumes it; ``run`` orders them and runs them in
a working directory. The CLI (``savepoint.cli``) parses arguments and calls ``run_demo``; the
demo never imports the CLI.

Example:
    >>> [step.title for step in demo_steps()][:2]
    ['Get an example dataset', 'Define a model']
"""

from savepoint.demo.run import DEMO_STEPS, demo_steps, run_demo
from savepoint.demo.steps import DemoContext, DemoStep, create_model, evaluate_and_report

__all__ = ["DEMO_STEPS", "DemoContext", "DemoStep", "create_model", "demo_steps",
           "evaluate_and_report", "run_demo"]
