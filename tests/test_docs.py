"""Every `nn` example in docs/language.md compiles, and says what the page says."""
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import nnspec

from conftest import ROOT

PAGE = (ROOT / "docs" / "language.md").read_text()
EXAMPLES = re.findall(r"```nn\n(.*?)```", PAGE, flags=re.S)


def test_the_page_has_examples():
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("text", EXAMPLES, ids=[f"example{i + 1}" for i in range(len(EXAMPLES))])
def test_every_example_compiles(text):
    model = nnspec.compile(text)
    assert model.graph.output_shape


def test_the_three_chain_spellings_are_one_network():
    a, b, c = (nnspec.compile(t).network.nodes for t in EXAMPLES[1:4])
    assert a == b == c


def test_block_instance_names_are_as_documented():
    block_example = next(t for t in EXAMPLES if "block residual" in t)
    names = [n.name for n in nnspec.compile(block_example).network.nodes]
    assert {"residual1/conv1", "r2/add1", "head1/dense2"} <= set(names)
    assert "residual1/conv1.W" in nnspec.compile(block_example).weights


# -- every command and snippet of README.md and docs/ runs ------------------------------
#
# Fences say what a block is: ```nn a spec (compiled), ```sh commands, ```python code,
# ```text output or a picture, ```json, ```lua and ```elisp an editor's settings (not
# run). "```sh setup" are the README's set-up commands, which .ci/run runs as a newcomer
# would; "extras=onnx,torch" marks blocks that need an optional extra (their `pip
# install` lines are .ci/run's too). A page's blocks run in order in one scratch folder
# where models/ is the repository's, its Python blocks in one namespace, so a later
# block uses what an earlier one made.

FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```", flags=re.S | re.M)
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
IMPORTS = {"onnx": ("onnx", "onnxruntime"), "torch": ("torch", "safetensors"),
           "sklearn": ("sklearn",), "lsp": ("pygls", "pygments"), "sweep": ("optuna",)}


def fences(page):
    """-> [(language, extras, code, line)] of a page's fenced blocks."""
    text = page.read_text()
    out = []
    for m in FENCE.finditer(text):
        options = dict(o.split("=", 1) for o in m.group(2).split() if "=" in o)
        extras = tuple(options.get("extras", "").split(",")) if "extras" in options else ()
        kind = m.group(1) + (" setup" if "setup" in m.group(2).split() else "")
        out.append((kind, extras, m.group(3), text.count("\n", 0, m.start()) + 1))
    return out


RUNNABLE = [p for p in PAGES if any(k in ("sh", "python") for k, *_ in fences(p))]


def _installed(extras):
    return all(importlib.util.find_spec(m) for e in extras for m in IMPORTS[e])


def test_every_block_says_what_it_is_and_names_known_extras():
    for page in PAGES:
        for kind, extras, _, line in fences(page):
            assert kind in ("nn", "sh", "sh setup", "python", "text", "json", "lua", "elisp"), \
                f"{page.name}:{line}: a fence of {kind or 'no language'}; say nn, sh, python, " \
                "text, json, lua or elisp"
            assert set(extras) <= set(IMPORTS), f"{page.name}:{line}: unknown extras {extras}"


def test_the_readme_set_up_commands_are_ci_s():
    setup = [code.strip() for kind, _, code, _ in fences(ROOT / "README.md") if kind == "sh setup"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert len(setup) == 2 and all(command in ci for command in setup)


@pytest.mark.parametrize("with_extras", [False, True], ids=["core", "extras"])
@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: p.name)
def test_every_command_and_snippet_runs(page, with_extras, tmp_path, monkeypatch):
    """core: the blocks that need no extra, which must not lean on those that do;
    extras: every block, where the extras are installed (.ci/run's second step)."""
    blocks = [b for b in fences(page) if b[0] in ("sh", "python") and (with_extras or not b[1])]
    needed = sorted({e for b in blocks for e in b[1]})
    if with_extras and (not needed or not _installed(needed)):
        pytest.skip(f"needs the extras {needed}" if needed else "no block needs an extra")
    (tmp_path / "models").symlink_to(ROOT / "models")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    namespace = {"__name__": "__docs__"}
    for kind, _, code, line in blocks:
        where = f"{page.name}:{line}"
        if kind == "python":
            exec(compile(code, where, "exec"), namespace)  # noqa: S102 - the page's own code
            continue
        for command in code.splitlines():
            if not command.strip() or command.startswith("pip install"):
                continue
            r = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True,
                               timeout=600)
            assert r.returncode == 0, f"{where}: {command}\n{r.stdout[-2000:]}{r.stderr[-2000:]}"
