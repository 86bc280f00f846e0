"""Highlighting from the language's own tables: a registry walk (every kind,
activation, word, option, setting, value and keyword gets its own token type
from the Pygments lexer and its own scope from the TextMate grammar, tokenised
as VS Code does with vscode-textmate), every model highlighted without a gap,
and the committed grammar is the one the tables generate."""
import inspect
import json
import re
import shutil
import subprocess
import sys

import pytest

from nnspec import vocabulary
from nnspec.highlight import rules, textmate
from nnspec.lang.kinds import FAMILY, KINDS
from nnspec.lang.settings import CHOICES

from conftest import MODELS, ROOT

VSCODE = ROOT / "editors" / "vscode"
GRAMMAR = VSCODE / "syntaxes" / "nnspec.tmLanguage.json"
SPECS = sorted(MODELS.rglob("*.nn")) + [ROOT / "docs" / "language.md"]
EXAMPLES = [p.read_text() for p in sorted(MODELS.rglob("*.nn"))] + re.findall(
    r"```nn\n(.*?)```", (ROOT / "docs" / "language.md").read_text(), flags=re.S)
KINDS_ALONE = [k for k in vocabulary.kinds() if k not in vocabulary.activations()]


def walk():
    """[(category, word, a spec that writes it)]: the registry walk."""
    cases = [("keyword", "nnspec", "nnspec 1\ninput 4\n"), ("keyword", "input", "input 4\n"),
             ("keyword", "block", "block b(f) {\n  dense f\n}\n"),
             ("keyword", "train", "input 4\ntrain {\n  lr = 1\n}\n")]
    cases += [("kind", k, f"input 4\n{k}(a, b)\n" if k in vocabulary.merges() else
               f"input 4\ndense 3 -> {k} 2\n") for k in KINDS_ALONE]
    cases += [("activation", a, f"input 4\ndense 3 {a} -> {a}\n") for a in vocabulary.activations()]
    cases += [("word", w, f"input 4\nconv 3x3x8 {w}\n") for w in vocabulary.all_words()]
    cases += [("option", o, f"input 4\nconv 3x3x8 {o}=1\n") for o in vocabulary.all_options()]
    cases += [("setting", s, f"input 4\ntrain {{\n  {s} = 1\n}}\n") for s in vocabulary.settings()]
    cases += [("value", v, f"input 4\ntrain {{\n  data = {v}\n}}\n")
              for v in vocabulary.value_names()]
    cases += [("option", o, f"input 4\ntrain {{\n  optimizer = adam({o}=1)\n}}\n")
              for o in vocabulary.call_option_names()]
    cases += [("boolean", b, f"input 4\ndense 3 bias={b}\n") for b in vocabulary.BOOLEANS]
    return cases


WALK = walk()


# -- the tables ----------------------------------------------------------------------------

def test_the_names_settings_call_are_the_registries():
    from nnspec.engine.losses import LOSSES
    from nnspec.engine.preprocess import FITTED
    from nnspec.files.data import GENERATORS, named, sets
    from nnspec.training.config import STOPPERS
    from nnspec.training.metrics import FACTORIES, METRICS
    from nnspec.training.optimizers import OPTIMIZERS
    from nnspec.training.schedules import SCHEDULES

    def options(registry):
        return {name: tuple(cls.OPTIONS) for name, cls in registry.items()}

    calls = vocabulary.CALLS
    assert calls["optimizer"] == options(OPTIMIZERS)
    assert calls["schedule"] == options(SCHEDULES)
    assert calls["early_stopping"] == options(STOPPERS)
    assert set(calls["loss"]) == set(LOSSES)
    assert set(calls["metrics"]) == set(METRICS) | set(FACTORIES)
    assert calls["metrics"]["top_k"] == tuple(inspect.signature(FACTORIES["top_k"]).parameters)
    generated = {name: tuple(inspect.signature(f).parameters)[1:] for name, f in
                 GENERATORS.items()}
    assert calls["data"] == calls["validation"] == {
        **generated, **{name: ("n", "test") for name in named.SETS}, **sets.FORMS}
    assert set(calls["scale"]) == set(CHOICES["scale"]) and set(FITTED) <= set(calls["scale"])


def test_the_keywords_are_the_grammar_s():
    assert set(vocabulary.KEYWORDS) == {"nnspec", "input", "output", "block", "train"}


def test_a_new_kind_is_highlighted_with_no_edit(monkeypatch):
    monkeypatch.setitem(KINDS, "fancy", KINDS["dense"])
    monkeypatch.setitem(FAMILY, "fancy", "dense")
    pytest.importorskip("pygments", reason="the lsp or docs extra is not installed")
    from pygments.token import Name

    from nnspec.highlight import pygments_lexer

    class Remade(pygments_lexer.NNSpecLexer):  # as it is made when nnspec with the kind loads
        tokens = pygments_lexer.tokens()
    assert (Name.Builtin, "fancy") in list(Remade().get_tokens("input 4\nfancy 3\n"))
    assert textmate.text() != GRAMMAR.read_text()  # so the committed grammar must be remade


# -- Pygments ---------------------------------------------------------------------------------

def pygments_types():
    pytest.importorskip("pygments", reason="the lsp or docs extra is not installed")
    from pygments.token import Error, Keyword, Name, Number, Text
    return {"keyword": Keyword, "kind": Name.Builtin, "activation": Name.Function,
            "word": Keyword.Pseudo, "option": Name.Attribute, "setting": Name.Property,
            "value": Name.Constant, "boolean": Keyword.Constant}, Error, Text, Number


def lex(text):
    from nnspec.highlight.pygments_lexer import NNSpecLexer
    return list(NNSpecLexer().get_tokens(text))


@pytest.mark.parametrize("category, word, text", WALK, ids=[f"{c}-{w}" for c, w, _ in WALK])
def test_pygments_gives_every_word_of_the_tables_its_token(category, word, text):
    types, *_ = pygments_types()
    found = [kind for kind, value in lex(text) if value == word]
    assert found and all(kind is types[category] for kind in found), (word, found)


@pytest.mark.parametrize("text", EXAMPLES, ids=lambda t: t.splitlines()[0][:30])
def test_pygments_lexes_every_model_and_example_with_no_gap(text):
    _, Error, Text, Number = pygments_types()
    for kind, value in lex(text):
        assert kind is not Error, value
        if re.fullmatch(rf"{rules.NAME}|[\d.+-][\w.+/-]*", value):
            assert kind not in (Text,), value  # every name and number has a type of its own


def test_pygments_finds_the_lexer_by_its_names_and_files():
    pytest.importorskip("pygments", reason="the lsp or docs extra is not installed")
    from pygments.lexers import find_lexer_class_for_filename, get_lexer_by_name
    assert get_lexer_by_name("nn").name == get_lexer_by_name("nnspec").name == "nnspec"
    assert find_lexer_class_for_filename("model.nn").name == "nnspec"
    pygmentize = shutil.which("pygmentize", path=str(ROOT / ".venv" / "bin")) or \
        shutil.which("pygmentize")
    if pygmentize is None:
        pytest.skip("no pygmentize on the PATH")
    r = subprocess.run([pygmentize, "-l", "nnspec", "-f", "html", str(MODELS / "shapes.nn")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and '<span class="nb">conv</span>' in r.stdout, r.stderr


# -- TextMate ---------------------------------------------------------------------------------

def test_the_committed_grammar_is_the_generated_one():
    r = subprocess.run([sys.executable, "-m", "nnspec.highlight", "--textmate"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == GRAMMAR.read_text(), "remake it: python -m nnspec.highlight " \
        "--textmate > editors/vscode/syntaxes/nnspec.tmLanguage.json"
    assert json.loads(r.stdout)["scopeName"] == "source.nnspec"


def tokenize(paths):
    """VS Code's tokens of each file: [[[{"text", "scopes"}]]] (editors/vscode/test/tokenize.js)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("no node on the PATH")
    if not (VSCODE / "node_modules" / "vscode-textmate").is_dir():
        pytest.skip("vscode-textmate is not installed: cd editors/vscode && npm ci")
    r = subprocess.run([node, str(VSCODE / "test" / "tokenize.js"), *map(str, paths)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def own_scopes(token):
    """The scopes that say what a token is (not the file's or a region's)."""
    return [s for s in token["scopes"] if not s.startswith(("source.", "meta."))]


def test_textmate_gives_every_word_of_the_tables_its_scope(tmp_path):
    scopes = {c: textmate.SCOPES[c] + ".nnspec" for c in
              ("keyword", "kind", "activation", "word", "option", "setting", "value", "boolean")}
    paths = []
    for i, (_, _, text) in enumerate(WALK):
        paths.append(tmp_path / f"{i}.nn")
        paths[-1].write_text(text)
    wrong = []
    for (category, word, text), lines in zip(WALK, tokenize(paths)):
        found = [own_scopes(t) for line in lines for t in line if t["text"] == word]
        if not found or any(s != [scopes[category]] for s in found):
            wrong.append((category, word, found))
    assert not wrong


def test_textmate_scopes_every_kind_number_and_name_of_every_model(tmp_path):
    paths = sorted(MODELS.rglob("*.nn"))
    for i, text in enumerate(EXAMPLES[len(paths):]):
        paths.append(tmp_path / f"example{i}.nn")
        paths[-1].write_text(text)
    for path, lines in zip(paths, tokenize(paths)):
        for number, line in enumerate(lines, 1):
            for token in line:
                where = f"{path.name}:{number}: {token['text']!r}"
                assert not any(s.startswith("invalid") for s in token["scopes"]), where
                if re.fullmatch(rf"\{{?{rules.NAME}\}}?|[\d.+-][\w.+/{{}}-]*", token["text"]):
                    assert own_scopes(token), where


def test_both_highlighters_agree_on_every_model(tmp_path):
    """The same words in the same categories: the rules are one, only the engines differ."""
    from nnspec.highlight.pygments_lexer import TOKENS
    pygments_types()
    by_type = {}
    for category, kind in TOKENS.items():
        by_type.setdefault(kind, set()).add(category)
    paths = sorted(MODELS.rglob("*.nn"))
    for path, lines in zip(paths, tokenize(paths)):
        textmate_words = [(t["text"], own_scopes(t)) for line in lines for t in line
                          if t["text"].strip()]
        pygments_words = [(v, by_type[k]) for k, v in lex(path.read_text()) if v.strip()]
        assert [w for w, _ in textmate_words] == [w for w, _ in pygments_words], path
        for (word, scopes), (_, categories) in zip(textmate_words, pygments_words):
            assert any(scopes == [textmate.SCOPES[c] + ".nnspec"] for c in categories), \
                (path.name, word, scopes, categories)
