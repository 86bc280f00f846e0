"""The documentation site builds with `mkdocs build --strict` (the docs extra):
its home page is the README, ```nn fences are highlighted by nnspec's own
lexer, and the API reference is made from the docstrings."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytest.importorskip("mkdocs", reason="the docs extra is not installed")
pytest.importorskip("mkdocstrings", reason="the docs extra is not installed")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent)) or "mkdocs"
    r = subprocess.run([mkdocs, "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def test_the_home_page_is_the_readme(site):
    home = (site / "index.html").read_text()
    for heading in re.findall(r"^## (.+)$", (ROOT / "README.md").read_text(), flags=re.M):
        assert f">{heading}<" in home, heading
    assert 'src="figures/seed000_loss.png"' in home and 'href="language/"' in home
    assert "extras=" not in home and "sh setup" not in home  # the tests' words, left out


def test_nn_fences_are_highlighted_by_nnspec_s_lexer(site):
    page = (site / "language" / "index.html").read_text()
    assert '<span class="nb">conv</span>' in page  # a layer kind: Name.Builtin
    assert '<span class="nf">relu</span>' in page  # an activation: Name.Function
    assert '<span class="py">optimizer</span>' in page  # a setting: Name.Property


def test_the_api_reference_is_made_from_the_docstrings(site):
    page = (site / "api" / "index.html").read_text()
    for name in ("nnspec.api.compile", "nnspec.model.Model.fit", "nnspec.errors.SpecError",
                 "nnspec.sklearn.Classifier"):
        assert f'id="{name}"' in page, name
    assert "Spec text or a .nn path" in page  # compile's docstring
