"""The installed package is complete: its grammar travels inside the wheel."""
from pathlib import Path

import pytest

import nnspec
from nnspec.lang.parse import grammar_path

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
