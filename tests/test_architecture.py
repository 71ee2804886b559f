"""The layout is the data flow: layers whose imports point one way, small files, short functions.

Read from the source with ``ast`` (nothing is imported), so each rule names the file and line
that breaks it. ``ARCHITECTURE.md`` describes the same layers.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "gradfit"

# Bottom to top: a module may import its own layer and the layers below it, never one above.
LAYERS = [
    ("errors", "limits", "atomic", "floats"),
    ("config", "option_checks"),
    ("data",),
    ("least_squares",),
    ("scale",),
    ("results",),
    ("training",),
    ("engines",),
    ("pipeline",),
    ("api",),
    ("figures", "bench", "sklearn", "walkthrough"),
    ("cli", "__init__", "__main__"),
]
MAX_TOP_LEVEL_MODULES = 12
MAX_FILE_LINES = 450
MAX_FUNCTION_LINES = 60


@dataclass(frozen=True)
class Import:
    source: str  # importing module, e.g. "gradfit.api"
    target: str  # imported gradfit module, e.g. "gradfit.data.validate"
    names: tuple[str, ...]  # the names taken from it (empty for "import x")
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _type_checking_lines(tree: ast.Module) -> set[int]:
    """Lines inside ``if TYPE_CHECKING:`` blocks (imports there exist for annotations only)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                lines.update(range(inner.lineno, inner.end_lineno + 1))
    return lines


def imports(name: str, path: Path, known: dict[str, Path]) -> list[Import]:
    """Every import of a gradfit module in ``path``, at any depth (functions included)."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_lines(tree)
    package = name if is_package(path) else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("gradfit"):
                continue
            plain = tuple(alias.name for alias in node.names)
            submodules = [f"{target}.{n}" for n in plain if f"{target}.{n}" in known]
            for sub in submodules:
                found.append(Import(name, sub, (), node.lineno))
            rest = tuple(n for n in plain if f"{target}.{n}" not in known)
            if rest or not submodules:
                found.append(Import(name, target, rest, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("gradfit"):
                    found.append(Import(name, alias.name, (), node.lineno))
    return found


def layer_of(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    for rank, names in enumerate(LAYERS):
        if top in names:
            return rank
    raise AssertionError(f"{module} is in no layer: add {top!r} to LAYERS (and to ARCHITECTURE.md)")


ALL = modules()
IMPORTS = [imp for name, path in ALL.items() for imp in imports(name, path, ALL)]


def test_at_most_twelve_modules_at_the_top():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, f"{len(top)} modules directly in src/gradfit: {top}"


def test_every_import_points_down_the_layers():
    upward = [f"{imp.source}:{imp.line} imports {imp.target}" for imp in IMPORTS
              if layer_of(imp.target) > layer_of(imp.source)]
    assert not upward, "imports pointing up the layers:\n" + "\n".join(upward)


def test_no_import_cycles():
    graph: dict[str, set[str]] = {name: set() for name in ALL}
    for imp in IMPORTS:
        if imp.target in graph and imp.target != imp.source:
            graph[imp.source].add(imp.target)
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


def test_no_private_name_crosses_a_module_boundary():
    crossing = [f"{imp.source}:{imp.line} takes {name} from {imp.target}" for imp in IMPORTS
                for name in imp.names if name.startswith("_") and not name.startswith("__")]
    for name, path in ALL.items():
        tree = ast.parse(path.read_text())
        aliases = {}  # local name -> gradfit module, for "from . import files" style imports
        for imp in imports(name, path, ALL):
            if not imp.names:
                aliases[imp.target.rpartition(".")[2]] = imp.target
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.asname and alias.name in aliases:
                        aliases[alias.asname] = aliases[alias.name]
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and node.attr.startswith("_") and not node.attr.startswith("__")):
                crossing.append(f"{name}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not crossing, "private names used across modules:\n" + "\n".join(crossing)


def test_no_module_is_shadowed_by_a_name_of_its_package():
    shadowed = []
    for name, path in ALL.items():
        if not is_package(path):
            continue
        for imp in imports(name, path, ALL):
            for taken in imp.names:
                if f"{name}.{taken}" in ALL:
                    shadowed.append(f"{name}.{taken} is both a module and a name {name} imports from {imp.target}")
    assert not shadowed, "\n".join(shadowed)


@pytest.mark.parametrize("name", sorted(ALL))
def test_files_are_small_and_functions_short(name):
    path = ALL[name]
    text = path.read_text()
    lines = len(text.splitlines())
    assert lines <= MAX_FILE_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines (at most {MAX_FILE_LINES})"
    long = [f"{node.name} (line {node.lineno}): {node.end_lineno - node.lineno + 1} lines"
            for node in ast.walk(ast.parse(text)) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines in {path.relative_to(PACKAGE)}: " + "; ".join(long)


FLAG = re.compile(r"(?<![\w-])(?<!torchrun )--[a-z][a-z-]*")


def test_library_messages_name_options_through_option():
    """Outside cli/, an error or warning names an option with errors.option(), never a literal
    flag: Python callers read ``lr=0.4``, the command line ``--lr 0.4``."""
    found = []
    for name, path in ALL.items():
        if name.startswith("gradfit.cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            calls = [node.exc] if isinstance(node, ast.Raise) and node.exc is not None else []
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith(("warn", "Warning", "Error")):
                calls.append(node)
            for call in calls:
                for sub in ast.walk(call):
                    if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and FLAG.search(sub.value):
                        found.append(f"{name}:{sub.lineno}: {sub.value[:80]!r}")
    assert not found, "flags written into library messages (use errors.option):\n" + "\n".join(sorted(set(found)))
