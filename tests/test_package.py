"""The installed package is complete: its grammar travels inside the wheel."""
import subprocess
import sys
from pathlib import Path

import pytest

import nnspec
from nnspec.lang.syntax import grammar_path

from conftest import ROOT, run_cli


def test_grammar_is_found():
    assert grammar_path().is_file()
    assert "_ARROW" in grammar_path().read_text()


def test_installed_package_carries_its_grammar():
    here = Path(nnspec.__file__).resolve().parent
    if here.parent == ROOT:
        pytest.skip("nnspec is imported from the source tree (editable install)")
    assert grammar_path() == here / "nnspec.lark"


def test_cli_runs_from_another_directory(tmp_path):
    r = run_cli("compile", ROOT / "models" / "shapes.nn", cwd=tmp_path)
    assert r.returncode == 0 and "total parameters" in r.stdout


def _python(code):
    """Run code in a fresh interpreter, which has imported nothing yet."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("argv", [["fmt", "{spec}"], ["compile", "{spec}", "--json"]])
def test_the_language_commands_run_without_numpy(argv, tmp_path):
    """`nnspec fmt` and `nnspec compile --json` use the language stage alone: no
    numpy, no kernels (a spec with blocks, merges and a train block)."""
    spec = ROOT / "models" / "residual.nn"
    code = ("import sys; from nnspec.cli import main; rc = main(%r); "
            "assert 'numpy' not in sys.modules, 'numpy was imported'; "
            "assert not [m for m in sys.modules if m.startswith(('nnspec.engine', "
            "'nnspec.training'))]; sys.exit(rc)") % [a.format(spec=spec) for a in argv]
    r = _python(code)
    assert r.returncode == 0 and r.stdout, r.stderr


def _imports_none_of(setup, prefixes):
    """Run setup in a fresh interpreter; then no module named by prefixes is loaded."""
    r = _python(f"import sys\n{setup}\nbad = [m for m in sys.modules if m.split('.')[0] in "
                f"{prefixes!r} or m.startswith({prefixes!r})]\nassert not bad, bad")
    assert r.returncode == 0, r.stderr


def test_the_language_stage_imports_neither_numpy_nor_the_engine():
    modules = [f"nnspec.lang.{m.stem}" for m in (ROOT / "nnspec" / "lang").glob("*.py")] + \
        [f"nnspec.lang.kinds.{m.stem}" for m in (ROOT / "nnspec" / "lang" / "kinds").glob("*.py")]
    _imports_none_of(f"import importlib\nfor m in {sorted(modules)!r}: "
                     "importlib.import_module(m.replace('.__init__', ''))",
                     ("numpy", "nnspec.engine", "nnspec.training", "nnspec.files"))


def test_import_nnspec_never_imports_the_optional_extras():
    _imports_none_of("import nnspec, nnspec.export\nm = nnspec.compile('input 3\\ndense 2')\n"
                     "m.predict([[1, 2, 3]])",
                     ("onnx", "onnxruntime", "torch", "safetensors", "sklearn"))


def test_a_missing_extra_is_one_line_saying_what_to_install():
    from nnspec.optional import need
    with pytest.raises(nnspec.NNSpecError, match=r'pip install "nnspec\[onnx\]"'):
        need("no_such_package_for_nnspec", "onnx")
