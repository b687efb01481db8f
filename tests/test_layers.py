"""The package's layering contract, checked over its import graph (read from the source, nothing imported).

Layers, lowest first: a module may import modules of its own layer or of lower layers, never a higher one.
Every import of another ``optimizer`` module sits at the top of its module (an import inside a function
would hide a circle rather than break it), except under ``if TYPE_CHECKING:``, which never runs. And the
graph has no circle at all, within a layer either.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "optimizer"

LAYERS: list[tuple[str, ...]] = [
    ("optimizer.errors", "optimizer.config", "optimizer.schema", "optimizer.files", "optimizer.limits",
     "optimizer.outpath", "optimizer.unserved", "optimizer.xlsx", "optimizer.yamlfile", "optimizer.location",
     "optimizer.ray_pool"),
    ("optimizer.validate",),
    ("optimizer.scenario", "optimizer.lint"),
    ("optimizer.io", "optimizer.xlsx_check", "optimizer.overrides"),
    ("optimizer.model", "optimizer.standard_form"),
    ("optimizer.solver", "optimizer.highs_direct"),
    ("optimizer.review", "optimizer.explain", "optimizer.docs"),
    ("optimizer.results",),
    ("optimizer.audit", "optimizer.sweep"),
    ("optimizer.robust", "optimizer.audit_sweep", "optimizer.folders"),
    ("optimizer.api",),
    ("optimizer.report", "optimizer.report_parts", "optimizer.export"),
    ("optimizer.cli", "optimizer.cli_print", "optimizer.__main__"),
]
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:``."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            out.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> list[tuple[str, int, bool]]:
    """(imported optimizer module, line, at module level) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_only(tree)
    top = {id(n) for n in tree.body}
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else (node.module or "")
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        for t in targets:
            if t.split(".")[0] == "optimizer" and t in known and t != name:
                out.append((t, node.lineno, id(node) in top))
    return out


def layer_of(name: str) -> int:
    matches = [i for i, layer in enumerate(LAYERS) for prefix in layer if name == prefix
               or name.startswith(prefix + ".")]
    return matches[0] if matches else -1


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {t for t, _, _ in imports(name, path, known)} for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_every_module_has_a_layer():
    assert [name for name in modules() if name != "optimizer" and layer_of(name) < 0] == []


def test_no_module_imports_a_higher_layer():
    known = modules()
    wrong = [f"{name}:{line} imports {target}"
             for name, path in known.items() if name != "optimizer"
             for target, line, _ in imports(name, path, known) if layer_of(target) > layer_of(name)]
    assert wrong == []


def test_no_import_inside_a_function():
    known = modules()
    hidden = [f"{name}:{line} imports {target}"
              for name, path in known.items() for target, line, at_top in imports(name, path, known) if not at_top]
    assert hidden == []


def test_the_import_graph_has_no_circle():
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_source_file_over_500_lines():
    long = {name: n for name, path in modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


# Pyomo's private attributes of its persistent HiGHS interface: only the solver module and the sweep's
# parameter push (which re-solves on highspy directly) may reach into them
PYOMO_PRIVATE = re.compile(r"\._(solver_model|solver_con_to_pyomo_con_map|pyomo_con_to_solver_con_map|"
                           r"pyomo_var_to_solver_var_map|mutable_helpers|mutable_bounds|mutable_objective|vars)\b")
MAY_TOUCH_PYOMO_PRIVATES = {"optimizer.solver", "optimizer.sweep.push"}


def test_pyomo_private_attributes_stay_in_the_solver_module_and_the_parameter_push():
    found = sorted({name for name, path in modules().items()
                    if PYOMO_PRIVATE.search(path.read_text(encoding="utf-8"))})
    assert set(found) <= MAY_TOUCH_PYOMO_PRIVATES, found
    assert "optimizer.solver" in found  # the pattern still matches the code
