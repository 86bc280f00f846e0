"""The house's shape, as the README's Layout section draws it: every module under 300
lines, and every import (module level or inside a function) pointing to its own
stage or an earlier one, never back up, with no cycle between modules."""
import ast
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "nnspec"
MAX_LINES = 300
# the stages in pipeline order; a module may import from its own and earlier ones
STAGES = [
    {"errors", "lazy", "optional", "__init__"},
    {"lang"},
    {"engine"},
    {"training"},
    {"files"},
    {"export"},
    {"pytorch"},
    {"arrays", "prepare", "transfer", "model", "api"},
    {"sklearn", "sklearn_columns", "sweeps", "cli", "plots", "lsp", "highlight", "vocabulary",
     "__main__"},
]
STAGE = {name: i for i, names in enumerate(STAGES) for name in names}
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def _name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _stage(module):
    top = module.split(".")[1] if "." in module else "__init__"
    return STAGE[top]


def _imports(path):
    """Every nnspec module this file imports, at any depth of the file."""
    package = _name(path) if path.name == "__init__.py" else _name(path).rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "nnspec"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "nnspec":
                found.add(target)
    return found


@pytest.mark.parametrize("path", MODULES, ids=[_name(p) for p in MODULES])
def test_no_module_is_over_300_lines(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


@pytest.mark.parametrize("path", MODULES, ids=[_name(p) for p in MODULES])
def test_every_import_points_to_an_earlier_stage_or_its_own(path):
    here = _stage(_name(path))
    for target in _imports(path):
        if target == "nnspec":  # the package's own names (errors, __version__)
            continue
        assert _stage(target) <= here, f"{_name(path)} imports {target}, a later stage"


def test_no_two_modules_import_each_other_in_a_cycle():
    graph = {}
    for path in MODULES:
        name = _name(path)
        graph[name] = {t for t in _imports(path) if t in {_name(p) for p in MODULES}
                       and t != name}
    state = {}

    def visit(node, trail):
        if state.get(node) == "done":
            return
        assert state.get(node) != "open", "an import cycle: " + " -> ".join(trail + [node])
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if nxt.startswith(node + "."):  # a package importing its own modules
                continue
            visit(nxt, trail + [node])
        state[node] = "done"
    for name in sorted(graph):
        visit(name, [])


def test_the_stages_name_every_top_level_part_of_the_package():
    tops = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in MODULES}
    assert tops <= set(STAGE), tops - set(STAGE)
