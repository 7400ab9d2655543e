"""The import contract of ``src/savepoint``: no module-level import cycle, and the layering rules
of ``docs/DESIGN.md`` §2, checked on the source with ``ast`` (nothing is imported).

The graph has one edge per import statement: ``import a.b`` and ``from a import b`` (``b`` a
module) point at ``a.b``; ``from a import name`` points at ``a``. The parent packages that Python
also runs are not edges: every module would otherwise depend on ``savepoint/__init__.py``, which
re-exports the whole library. ``if TYPE_CHECKING:`` blocks are not imports.

- *Cycles* are checked over module-level imports (those that run when the module is imported);
  an import inside a function is the sanctioned way to reach upward lazily.
- *Layering rules* are checked over every import, inside functions too, unless a rule says
  otherwise: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import pathlib
from dataclasses import dataclass

SRC = pathlib.Path(__file__).resolve().parents[1] / "src"


@dataclass(frozen=True)
class Import:
    source: str       # the importing module
    target: str       # the imported module (or package)
    line: int
    top_level: bool   # runs when the source module is imported

    def __str__(self) -> str:
        where = "" if self.top_level else " (inside a function)"
        return f"{self.source} -> {self.target} (line {self.line}){where}"


def _modules() -> dict[str, tuple[pathlib.Path, bool]]:
    found = {}
    for path in sorted((SRC / "savepoint").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        package = f"{base}.{node.module}" if node.module else base
    else:
        package = node.module or ""
    submodules = [f"{package}.{alias.name}" for alias in node.names
                  if f"{package}.{alias.name}" in MODULES]
    names_too = len(submodules) < len(node.names)   # some names are attributes of the package
    return submodules + ([package] if names_too or not submodules else [])


def _imports(module: str) -> list[Import]:
    path, is_package = MODULES[module]
    found: list[Import] = []

    def visit(nodes: list[ast.stmt], top_level: bool) -> None:
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.extend(Import(module, target, node.lineno, top_level)
                             for target in _targets(module, is_package, node))
            elif isinstance(node, ast.If) and _is_type_checking(node):
                continue
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(node.body, False)
            else:
                # class bodies, if/try/with/for at module level run at import time
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.stmt):
                        visit([child], top_level)
                    elif isinstance(child, ast.excepthandler):
                        visit(child.body, top_level)

    visit(ast.parse(path.read_text(), str(path)).body, True)
    return [imp for imp in found if imp.target.split(".")[0] == "savepoint"]


IMPORTS = {module: _imports(module) for module in MODULES}


def _within(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _module_level_graph() -> dict[str, set[str]]:
    return {m: {i.target for i in imps if i.top_level and i.target in MODULES and i.target != m}
            for m, imps in IMPORTS.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One concrete cycle per strongly connected component with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:   # Tarjan; the package is small enough to recurse
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_one_cycle(graph, set(c)) for c in components]


def _one_cycle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """The shortest cycle through the component's first module (breadth-first, inside it)."""
    start = min(component)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        next_frontier = []
        for node in frontier:
            for nxt in sorted(graph[node] & component):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return path[::-1] + [start]
                if nxt not in parents:
                    parents[nxt] = node
                    next_frontier.append(nxt)
        frontier = next_frontier
    raise AssertionError(f"no cycle through {start} in its component")  # Tarjan guarantees one


def _describe(cycle: list[str], graph: dict[str, set[str]]) -> str:
    component = _component_of(cycle[0], graph)
    others = sorted(component - set(cycle))
    return " -> ".join(cycle) + (f"  (and, in the same tangle: {', '.join(others)})"
                                 if others else "")


def _component_of(node: str, graph: dict[str, set[str]]) -> set[str]:
    def reach(start: str, edges: dict[str, set[str]]) -> set[str]:
        seen, todo = {start}, [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen
    reverse: dict[str, set[str]] = {}
    for source, targets in graph.items():
        for target in targets:
            reverse.setdefault(target, set()).add(source)
    return reach(node, graph) & reach(node, reverse)


def test_no_module_level_import_cycles():
    graph = _module_level_graph()
    cycles = _cycles(graph)
    assert not cycles, (
        "Expected no module-level import cycle in src/savepoint. Received:\n  "
        + "\n  ".join(_describe(cycle, graph) for cycle in cycles)
        + "\nFix: move the import that points back up into the function that needs it, or move "
          "the shared code down a layer.")


def _violations(sources: tuple[str, ...], allowed, top_level_only: bool = False) -> list[str]:
    return [str(imp) for module, imps in sorted(IMPORTS.items()) if _within(module, *sources)
            for imp in imps if (imp.top_level or not top_level_only) and not allowed(imp)]


def _assert_none(violations: list[str], rule: str, fix: str) -> None:
    assert not violations, (f"Expected {rule}. Received:\n  " + "\n  ".join(violations)
                            + f"\nFix: {fix}")


SAVING = "savepoint.saving"
FORMATS, STORAGE = "savepoint.saving.formats", "savepoint.saving.storage"
MAPPING, API = "savepoint.saving.mapping", "savepoint.saving.api"
ENGINE, HANDLERS = "savepoint.saving.engine", "savepoint.saving.handlers"


def test_layers_and_optimizers_never_import_saving():
    _assert_none(
        _violations(("savepoint.layers", "savepoint.optimizers"),
                    lambda imp: not _within(imp.target, SAVING)),
        "savepoint.layers and savepoint.optimizers never to import savepoint.saving",
        "use savepoint.serialization / savepoint.trackable, or let saving/ call the layer.")


def test_models_reach_saving_only_through_its_api():
    _assert_none(
        _violations(("savepoint.models",),
                    lambda imp: not _within(imp.target, SAVING) or _within(imp.target, API)),
        "savepoint.models to import only savepoint.saving.api from savepoint.saving",
        "call the function through savepoint.saving.api (re-export it there if it is public).")


def test_formats_import_only_storage_and_errors():
    allowed_inside = (FORMATS, STORAGE, "savepoint.errors")
    _assert_none(
        _violations((FORMATS,), lambda imp: _within(imp.target, *allowed_inside)),
        "savepoint.saving.formats to import only savepoint.saving.storage, savepoint.errors and "
        "other formats modules",
        "formats move bytes <-> named arrays/JSON; pass anything else in as arguments.")


def _reaches_storage(module: str) -> bool:
    graph, seen, todo = _module_level_graph(), set(), [module]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        if _within(current, STORAGE):
            return True
        todo.extend(graph.get(current, ()))
    return False


def test_mapping_does_no_io():
    # mapping names a model's objects. It may use a format's pure codecs (the object graph proto
    # types of formats.tf_checkpoint.object_graph), but never storage, nor a formats module that
    # reaches storage, nor the layers above it (engine, handlers, api).
    def allowed(imp: Import) -> bool:
        if _within(imp.target, STORAGE, ENGINE, HANDLERS, API):
            return False
        return not _within(imp.target, FORMATS) or not _reaches_storage(imp.target)
    _assert_none(_violations((MAPPING,), allowed),
                 "savepoint.saving.mapping to do no I/O: no storage, no format module that "
                 "imports storage, nothing above it",
                 "keep mapping to names and proto types; let the handler read and write.")


# Wire codecs, not formats: masked crc32c and protobuf field encoding know no file layout. The
# TensorBoard callback frames its event files (TFRecords of Event protos) with them.
WIRE_CODECS = ("savepoint.saving.formats.tf_checkpoint.crc",
               "savepoint.saving.formats.tf_checkpoint.proto")


def test_users_of_saving_go_through_its_api():
    users = ("savepoint.callbacks", "savepoint.train", "savepoint.cli", "savepoint.demo")
    _assert_none(
        _violations(users, lambda imp: imp.target in WIRE_CODECS
                    or not _within(imp.target, FORMATS, HANDLERS, ENGINE)),
        "savepoint.callbacks, savepoint.train, savepoint.cli and savepoint.demo to use "
        "savepoint.saving.api (and storage), never formats, handlers or engine",
        "add what is missing to savepoint.saving.api and call that.")


def test_demo_never_imports_the_cli():
    _assert_none(
        _violations(("savepoint.demo",), lambda imp: not _within(imp.target, "savepoint.cli")),
        "savepoint.demo never to import savepoint.cli (the CLI runs the demo)",
        "move what both need into savepoint.demo.")


def test_the_graph_sees_the_package():
    # guards the test itself: a broken walk would make every rule above pass vacuously
    assert len(MODULES) > 200 and "savepoint.saving.api" in MODULES
    assert any(i.target == "savepoint.errors" for i in IMPORTS["savepoint.saving.formats.h5"])
