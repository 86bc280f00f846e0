"""The language server's pure modules (nnspec/lsp/: index, hover, completion,
navigation, symbols), without pygls: every model in models/ and the error
table of docs/language.md, against what `nnspec compile` prints."""
import re
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnspec
from nnspec import vocabulary
from nnspec.lsp import completion, hover, navigation, symbols
from nnspec.lsp.index import MAX_TEXT, formatted, index

from conftest import MODELS, ROOT, run_cli

SPECS = sorted(MODELS.rglob("*.nn"))
LANGUAGE = (ROOT / "docs" / "language.md").read_text()

# The spec behind each row of the error table in docs/language.md (the rows show
# only the message): the row's line and column must be where the problem is.
ERROR_SPECS = {
    "unexpected 'relu6'": "input 8x8x1\nconv 3x3x2 same relu6\n",
    "conv2: conv 7x7x4": "input 10x10x1\nconv 3x3x32 same relu -> maxpool 2\nconv 7x7x4\n",
    "'b' is defined later": "input 8\na: dense 4\ninput -> c: dense 4\na -> concat(c, b)\n"
                            "b: dense 4\n",
    "block 'res' takes": "input 8x8x1\nblock res(f) {\n  conv 3x3x{f} same\n}\n\nres(8, 16)\n",
}


def error_rows():
    """[(line, column, message)] of the ```text block under '## Errors'."""
    block = re.search(r"## Errors.*?```text\n(.*?)```", LANGUAGE, flags=re.S).group(1)
    return [(int(m[1]), int(m[2]), m[3]) for m in
            re.finditer(r"^error: model\.nn:(\d+):(\d+): (.*)$", block, flags=re.M)]


def summary_rows(path):
    """{layer: (output shape, params, FLOPs)} from the summary table compile prints."""
    lines = []
    nnspec.compile(path).summary(print_fn=lines.append)
    rows = lines[0].splitlines()
    body = rows[2:next(i for i in range(2, len(rows)) if rows[i].startswith("---"))]
    out = {}
    for row in body:
        name, _, shape, params, flops = re.split(r"\s{2,}", row)[:5]
        out[name] = (shape, params, flops)
    return out


def cli_message(text, tmp_path):
    """The message `nnspec compile` prints for a spec, without its FILE:LINE:COL."""
    path = tmp_path / "model.nn"
    path.write_text(text)
    r = run_cli("compile", path)
    first = r.stderr.splitlines()[0]
    return re.match(r"error: .*?model\.nn:(\d+):(\d+): (.*)$", first).groups()


# -- diagnostics ---------------------------------------------------------------------------

def test_every_model_indexes_without_a_problem():
    for path in SPECS:
        assert index(path.read_text()).problems == [], path


def test_the_error_table_has_a_spec_for_each_row():
    assert len(error_rows()) == len(ERROR_SPECS) == 4


@pytest.mark.parametrize("row", error_rows(), ids=lambda r: r[2][:20])
def test_every_row_of_the_error_table_is_a_problem_at_its_place(row, tmp_path):
    line, column, message = row
    text = next(spec for key, spec in ERROR_SPECS.items() if message.startswith(key))
    problems = index(text, "model.nn").problems
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.span.line + 1, problem.span.start + 1) == (line, column)
    shown = message.split("...")[0] if message.endswith("...") else message
    assert problem.message.startswith(shown), (problem.message, message)
    # the CLI says the same at the same place
    assert cli_message(text, tmp_path) == (str(line), str(column), problem.message)


def test_a_problem_underlines_the_word_it_is_about():
    text = "input 8x8x1\nconv 3x3x2 same relu6 stride=2\n"
    (problem,) = index(text).problems
    line = text.splitlines()[problem.span.line]
    assert line[problem.span.start:problem.span.end] == "relu6"


def test_a_shape_error_in_residual_is_at_the_layer_with_the_cli_s_message(tmp_path):
    text = (MODELS / "residual.nn").read_text().replace(
        "-> maxpool 2\n  -> residual(8)", "-> maxpool 2\n  -> conv 9x9x8\n  -> residual(8)", 1)
    (problem,) = index(text).problems
    line, column, message = cli_message(text, tmp_path)
    assert (problem.span.line + 1, problem.span.start + 1) == (int(line), int(column))
    assert problem.message == message and "needs at least 9x9 input" in message
    assert text.splitlines()[problem.span.line][problem.span.start:problem.span.end] == "conv"


def test_a_train_block_error_is_found_without_drawing_weights(tmp_path):
    text = "input 4\ndense 99999 relu\ndense 3 softmax\ntrain {\n  optimizer = adamm\n}\n"
    (problem,) = index(text).problems
    assert "did you mean 'adam'" in problem.message
    assert cli_message(text, tmp_path)[2] == problem.message


def test_a_template_s_placeholders_are_no_error():
    text = "input {n_features}\ndense {width} relu -> dense {n_outputs} softmax\n"
    (note,) = index(text).problems
    assert note.severity == "information" and "{width}" in note.message
    ix = index(text)
    assert all(layer.shape is None for layer in ix.layers)  # no stand-in numbers
    found, _ = hover.hover(ix, 1, 1)
    assert "`dense1` dense: its shape is known once the template's placeholders" in found
    classes = "input {n}\ndense {n_outputs} softmax\ntrain {\n  loss = cross_entropy\n}\n"
    assert [p.severity for p in index(classes).problems] == ["information"]  # not n_outputs=1
    broken = text + "dense 3 softmaxx\n"
    assert any("did you mean 'softmax'" in p.message for p in index(broken).problems)


def test_a_text_too_large_is_one_note_at_once():
    start = time.perf_counter()
    (note,) = index("input 4\n" + "dense 2 relu\n" * (MAX_TEXT // 10)).problems
    assert note.severity == "information" and time.perf_counter() - start < 1


def test_names_come_from_the_lines_around_a_line_that_does_not_parse():
    text = "input 8x8x1\nstem: conv 3x3x8 same\nconv 3x3x8 -> add(\nside: conv 1x1x8\n"
    ix = index(text)
    assert ix.problems and {"stem", "side"} <= {d.name for d in ix.definitions}


# -- hover -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(MODELS)))
def test_hover_on_every_layer_shows_the_summary_s_numbers(path):
    ix = index(path.read_text())
    rows = summary_rows(path)
    assert {layer.name for layer in ix.layers} == set(rows)
    for layer in ix.layers:
        text, _ = hover.hover(ix, layer.span.line, layer.span.start + 1)
        shape, params, flops = rows[layer.name]
        assert f"`{layer.name}` {layer.spec} -> **{shape}**, {params} parameters, {flops} FLOPs" \
            in text


def test_hover_on_a_repeated_layer_lists_a_few_and_counts_the_rest():
    found, _ = hover.hover(index("input 4\n(dense 2 relu) x30\ndense 1\n"), 1, 2)
    assert found.startswith("30 layers, one per call or repeat:")
    assert "`dense10`" in found and "`dense11`" not in found and "and 20 more" in found


def test_hover_on_a_kind_shows_its_documentation():
    ix = index("input 8x8x1\nconv 3x3x8 same\n")
    text, span = hover.hover(ix, 1, 2)
    assert vocabulary.signature("conv").usage in text and "padding: valid | same | full" in text


def test_hover_on_a_pool_says_what_k_means_on_an_image_and_over_time():
    ix = index("input 20x16\nmaxpool 2 same\n")
    text, _ = hover.hover(ix, 1, 2)
    assert vocabulary.signature("maxpool").usage in text
    assert "maxpool K: KxK on an image, K steps on a TIMExFEATURES sequence" in text


def test_hover_on_a_name_says_where_it_is_defined_and_its_shape():
    text = "input 16x16x1\nstem: conv 3x3x8 same relu\nconv 3x3x8 same -> add(stem) relu\n"
    ix = index(text)
    found, span = hover.hover(ix, 2, text.splitlines()[2].index("stem") + 1)
    assert "defined at line 2" in found and "**16x16x8**" in found


def test_hover_on_a_setting_shows_its_values():
    ix = index((MODELS / "residual.nn").read_text())
    optimizer = next(s for s in ix.settings if s.key == "optimizer")
    found, _ = hover.hover(ix, optimizer.span.line, optimizer.span.start)
    assert "`adam(beta1, beta2, eps, lr)`" in found and "default: `sgd`" in found


def test_every_setting_is_documented():
    assert set(vocabulary.SETTING_DOCS) == set(vocabulary.settings())


# -- completion ------------------------------------------------------------------------------

def labels(text, line=None, column=None):
    lines = text.split("\n")
    line = len(lines) - 1 if line is None else line
    column = len(lines[line]) if column is None else column
    return [i.label for i in completion.complete(index(text), line, column)]


def test_after_a_kind_its_words_and_options():
    found = labels("input 8x8x1\nconv 3x3x8 ")
    assert {"valid", "same", "full", *vocabulary.activations(), "stride", "dilation", "lr",
            "init", "bias"} <= set(found)
    assert "dense" not in found and "maxpool" not in found


def test_words_and_options_already_written_are_not_offered_again():
    found = labels("input 8x8x1\nconv 3x3x8 same stride=2 ")
    assert "valid" not in found and "stride" not in found and "relu" in found


def test_a_flag_word_is_offered_once_and_its_option_form_takes_true_or_false():
    """bidirectional on the recurrent layers: a word offered until written, and
    bidirectional= takes true or false; hover names it."""
    assert "bidirectional" in labels("input 5x3\nlstm 4 ")
    assert "bidirectional" not in labels("input 5x3\nlstm 4 bidirectional ")
    assert "bidirectional" not in labels("input 5x3\ndense 4 ")
    assert labels("input 5x3\ngru 4 bidirectional=") == ["true", "false"]
    text, _ = hover.hover(index("input 5x3\nlstm 4 bidirectional\n"), 1, 2)
    assert "bidirectional (a flag: written or not)" in text and "**8**" in text


def test_an_option_s_values():
    assert set(labels("input 4\ndense 3 init=")) == set(vocabulary.initializers())
    assert labels("input 4\ndense 3 bias=") == ["true", "false"]


def test_at_a_chain_s_start_kinds_blocks_and_names_in_scope():
    text = "input 8x8x1\nblock res(f) {\n  conv 3x3x{f} same\n}\nstem: conv 3x3x8 same\n" \
           "stem -> "
    found = labels(text)
    assert {"conv", "add(", "res", "stem", "input"} <= set(found)
    assert "block" not in found  # keywords start lines, not elements


def test_inside_a_merge_the_names_defined_before():
    text = "input 8x8x1\nstem: conv 3x3x8 same\nconv 3x3x8 same -> add("
    found = labels(text)
    assert "stem" in found and "input" in found and "conv" not in found
    later = labels("input 8\nlater: dense 2\n", 1, 0)
    assert "later" not in later


def test_inside_a_block_its_own_names_and_in():
    text = "input 8x8x1\nblock res(f) {\n  a: conv 3x3x{f} same\n  conv 3x3x{f} -> add(\n}\n" \
           "stem: conv 3x3x8\nres(8)\n"
    found = labels(text, 3, len("  conv 3x3x{f} -> add("))
    assert "in" in found and "a" in found and "stem" not in found


def test_in_the_train_block_settings_values_and_options():
    head = "input 4\ndense 3 softmax\ntrain {\n  "
    assert labels(head) == list(vocabulary.settings())
    assert labels(head + "optimizer = ") == list(vocabulary.CALLS["optimizer"])
    assert set(labels(head + "optimizer = adam(")) == {"beta1", "beta2", "eps", "lr"}
    assert set(labels(head + "optimizer = adam(beta1=0.9, ")) == {"beta2", "eps", "lr"}
    assert set(labels(head + "schedule = cosine(")) == {"warmup", "floor", "steps"}
    assert labels(head + "shuffle = ") == ["true", "false"]
    assert "top_k" in labels(head + "metrics = [accuracy, ")
    assert labels(head + "reduction = ") == ["mean", "sum"]


def test_no_completion_in_a_comment():
    assert labels("input 4\ndense 3  # conv ") == []


# -- navigation, symbols, formatting ------------------------------------------------------

GRAPH = "input 16x16x1\nstem: conv 3x3x8 same relu\nconv 3x3x8 same relu -> conv 3x3x8 same " \
        "-> add(stem) relu\nstem -> side: conv 1x1x8 same\nconcat(add1, side) -> dense 4 softmax\n"


@pytest.mark.parametrize("path", SPECS + [None], ids=lambda p: str(p.relative_to(MODELS)) if p else "graph")
def test_every_reference_goes_to_its_definition(path):
    text = path.read_text() if path else GRAPH
    ix = index(text)
    lines = text.splitlines()
    for ref in ix.references:
        found = navigation.definition(ix, ref)
        if ref.name == "in":
            assert found is None
            continue
        assert found is not None, ref
        written = lines[found.span.line][found.span.start:found.span.end]
        assert written == ref.name or navigation.layers_of(ix, ref), (ref, written)


def test_a_default_name_goes_to_its_layer():
    ix = index(GRAPH)
    add = next(r for r in ix.references if r.name == "add1")
    found = navigation.definition(ix, add)
    assert (found.span.line, GRAPH.splitlines()[found.span.line][found.span.start:]
            .startswith("add(stem)")) == (2, True)


def test_rename_changes_every_use_and_only_the_meaning_of_names():
    ix = index(GRAPH)
    edits = navigation.rename(ix, 1, 1, "trunk")
    assert len(edits) == 3  # the label, add(stem), stem -> side
    lines = GRAPH.split("\n")
    for span, new in sorted(edits, key=lambda e: (e[0].line, -e[0].start)):
        line = lines[span.line]
        lines[span.line] = line[:span.start] + new + line[span.end:]
    renamed = "\n".join(lines)
    before, after = nnspec.lang.parse(GRAPH).nodes, nnspec.lang.parse(renamed).nodes
    assert [n.name.replace("stem", "trunk") for n in before] == [n.name for n in after]
    assert [n.params for n in before] == [n.params for n in after]


def test_rename_refuses_what_would_break_the_spec():
    ix = index(GRAPH)
    for new in ("side", "conv", "input", "2x", "block"):
        with pytest.raises(navigation.RenameError):
            navigation.rename(ix, 1, 1, new)
    with pytest.raises(navigation.RenameError, match="default name"):
        navigation.rename(ix, 4, GRAPH.splitlines()[4].index("add1") + 1, "x")


def test_symbols_list_layers_blocks_and_the_train_block():
    for path in SPECS:
        ix = index(path.read_text())
        found = symbols.symbols(ix)
        top = [s.name for s in found if s.kind in ("layer", "input")]
        assert top == [layer.name for layer in ix.layers if "/" not in layer.name], path
        train = [s for s in found if s.kind == "train"]
        assert [c.name for c in train[0].children] == [s.key for s in ix.settings]
    block = next(s for s in symbols.symbols(index((MODELS / "residual.nn").read_text()))
                 if s.kind == "block")
    assert [c.name for c in block.children] == ["filters", "conv1", "conv2", "add1"]


def test_formatting_is_nnspec_fmt():
    messy = "input 4\ndense   3 relu->dense 2\n"
    assert formatted(messy) == "input 4\ndense 3 relu -> dense 2\n"
    assert formatted("input 4\ndense (\n") is None


# -- whatever the text -------------------------------------------------------------------------

PIECES = ["->", "(", ")", "{", "}", ",", "=", ":", "\n", " x3", " 0", " -7", "{f}", "{n}",
          "block b(f) {", "in", "input", "train {", " conv 3x3x8", " add(", "concat(in)",
          " dense 2", " lr=", "#", '"', "é", "\t", "optimizer = adam(", "x99999999", "\r\n"]


@st.composite
def texts(draw):
    seed = draw(st.sampled_from([p.read_text() for p in SPECS] + [GRAPH]))
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(seed)))
        piece = draw(st.sampled_from(PIECES) | st.text(max_size=4))
        seed = seed[:at] + piece + seed[at + draw(st.integers(0, 3)):]
    return seed


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts(), st.integers(0, 40), st.integers(0, 90))
def test_no_text_and_no_position_raises(text, line, column):
    ix = index(text)
    assert all(p.message and "\n" not in p.message for p in ix.problems)
    hover.hover(ix, line, column)
    completion.complete(ix, line, column)
    symbols.symbols(ix)
    name = navigation.name_at(ix, line, column)
    if name is not None:
        navigation.occurrences(ix, name)
        try:
            navigation.rename(ix, line, column, "renamed")
        except navigation.RenameError:
            pass


def test_import_nnspec_imports_nothing_optional_nor_the_editor_modules():
    code = ("import sys, nnspec\nbad = [m for m in sys.modules if m.split('.')[0] in "
            "('pygls', 'lsprotocol', 'pygments', 'mkdocs') or m.startswith(('nnspec.lsp', "
            "'nnspec.highlight', 'nnspec.vocabulary'))]\nassert not bad, bad")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_the_editor_modules_import_nothing_optional():
    """The language server's pure modules and the TextMate grammar need neither pygls
    nor pygments (only server.py and pygments_lexer.py do)."""
    code = ("import sys, nnspec.cli, nnspec.vocabulary, nnspec.lsp.index, nnspec.lsp.hover, "
            "nnspec.lsp.completion, nnspec.lsp.navigation, nnspec.lsp.symbols, "
            "nnspec.highlight.textmate\nbad = [m for m in sys.modules if m.split('.')[0] in "
            "('pygls', 'lsprotocol', 'pygments', 'mkdocs')]\nassert not bad, bad")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_nnspec_lsp_without_the_extra_says_what_to_install():
    code = ("import sys; sys.modules['pygls'] = None\nfrom nnspec.cli import main\n"
            "sys.exit(main(['lsp']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr == 'error: nnspec lsp needs the lsp extra: pip install "nnspec[lsp]"\n'


def test_named_inputs_and_output_lines_are_names_like_layers():
    """`image: input ...` defines image; `output digit` uses digit: go to definition
    and rename reach them as they reach any layer's name."""
    text = (MODELS / "two_inputs_two_outputs.nn").read_text()
    ix = index(text)
    lines = text.splitlines()
    row = next(i for i, l in enumerate(lines) if l.startswith("output digit"))
    use = next(r for r in ix.references if r.name == "digit" and r.span.line == row)
    found = navigation.definition(ix, use)
    assert lines[found.span.line].startswith("trunk -> digit: dense 10 softmax")
    meta = next(r for r in ix.references if r.name == "meta")
    assert lines[navigation.definition(ix, meta).span.line] == "meta: input 4 scale=standard"
    edits = navigation.rename(ix, row, lines[row].index("digit") + 1, "number")
    assert sorted(span.line for span, _ in edits) == [row - 2, row]  # its label, the line
