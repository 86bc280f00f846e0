"""Generated tables (issue 32): CSVs of number, category and text columns under
random names, with a class or a number to predict (on any scale), written as
the csv module writes them (quotes, commas and line breaks inside values).
From a spec that names the columns' types, each either trains an epoch, saves,
and `nnspec infer` on the raw CSV answers what `predict` does, or stops with one
line saying what to write, which, written, then trains. Never a traceback.
"""
import contextlib
import csv
import io
import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import nnspec
from nnspec.cli import main

NAMES = st.from_regex(r"col_[a-z]{1,6}", fullmatch=True)
WORDS = ["good", "bad", "film", "Plot", "dull", "fun", "É", "it's", "x-ray", "42"]
CATEGORIES = ["A", "b", "NEAR BAY", "<1H", "a,b", 'say "hi"', "ünï", "7", "0"]


@st.composite
def tables(draw):
    """(header, rows, feature kinds by name, label name, regression?)."""
    n = draw(st.integers(12, 30))
    kinds = draw(st.lists(st.sampled_from(["number", "category", "text"]), min_size=1,
                          max_size=4).filter(lambda ks: ks.count("text") <= 1))
    names = draw(st.lists(NAMES, min_size=len(kinds) + 1, max_size=len(kinds) + 1,
                          unique=True))
    columns = {}
    for name, kind in zip(names, kinds):
        if kind == "number":
            scale = draw(st.sampled_from([1e-3, 1.0, 1e4]))
            values = draw(st.lists(st.floats(-3, 3, allow_nan=False), min_size=n, max_size=n))
            form = draw(st.sampled_from(["{:.4g}", "{:.2e}", " {:.3f} "]))
            columns[name] = [form.format(v * scale) for v in values]
        elif kind == "category":
            pool = draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=4,
                                 unique=True))
            columns[name] = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
        else:
            texts = st.lists(st.sampled_from(WORDS), max_size=6).map(" ".join)
            columns[name] = draw(st.lists(texts, min_size=n, max_size=n).filter(
                lambda ts: any(re.search(r"[^\W\d_]", t) for t in ts)))
    label, regression = names[-1], draw(st.booleans())
    if regression:
        scale = draw(st.sampled_from([1e-4, 1.0, 3e5]))
        columns[label] = [f"{v * scale:.6g}" for v in draw(
            st.lists(st.floats(-2, 2, allow_nan=False), min_size=n, max_size=n))]
    else:
        columns[label] = draw(st.lists(st.sampled_from(["yes", "no", "maybe"]), min_size=n,
                                       max_size=n).filter(lambda ls: len(set(ls)) > 1))
    header = list(draw(st.permutations(list(columns))))
    rows = [[columns[h][i] for h in header] for i in range(n)]
    return header, rows, dict(zip(names, kinds)), label, regression


def _spec(kinds, label, regression, classes, width):
    category = [k for k, v in kinds.items() if v == "category"]
    text = [k for k, v in kinds.items() if v == "text"]
    options = f"label={label}" + (f", category=[{', '.join(category)}]" if category else "") + \
        (f", text=[{text[0]}]" if text else "")
    head = "dense 1" if regression else f"dense {classes} softmax"
    rest = len(kinds) > len(text)
    if text:
        net = f"{text[0]}: input 5\n{text[0]} -> embedding 40x3 -> globalavgpool -> t: dense 3\n"
        net += (f"rest: input {width}\nconcat(rest, t)" if rest else "t") + \
            f" -> dense 4 relu -> {head}\n"
    else:
        net = f"input {width}\ndense 4 relu -> {head}\n"
    return net + f'train {{\n  data = csv("t.csv", {options})\n  epochs = 1\n' \
        f'  batch_size = 8\n  split = 60/20/20\n}}\n'


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


# NNSPEC_FUZZ_TABLES sets a long run's count (as tests/test_fuzz.py's do)
@settings(max_examples=int(os.environ.get("NNSPEC_FUZZ_TABLES", 40)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_any_typed_table_trains_and_infers_or_says_what_to_write(table):
    header, rows, kinds, label, regression = table
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        with open(folder / "t.csv", "w", newline="") as f:
            csv.writer(f).writerows([header] + rows)
        classes = len({r[header.index(label)] for r in rows})
        spec = folder / "t.nn"
        spec.write_text(_spec(kinds, label, regression, classes, 1))
        code, out, err = _run("train", spec, "-o", folder / "t.nnb", "--quiet")
        if code:  # the one error there may be: the width, which it names
            assert code in (1, 2) and err.count("\n") <= 3 and "Traceback" not in err, err
            width = re.search(r"write (?:rest: )?input (\d+)", err)
            assert width, err
            event("the width written as the error said")
            spec.write_text(_spec(kinds, label, regression, classes, int(width.group(1))))
            code, out, err = _run("train", spec, "-o", folder / "t.nnb", "--quiet")
        assert code == 0, err
        model = nnspec.load(folder / "t.nnb")
        event(f"inputs {len(model.network.inputs)}, "
              f"{'scaled ' if model.target_scaling else ''}{'values' if regression else 'classes'}")
        code, out, err = _run("infer", folder / "t.nnb", folder / "t.csv", "--format", "json")
        assert code == 0, err
        answers = [[r["probabilities"][c] for c in model.classes] if "probabilities" in r
                   else r["values"] for r in json.loads(out)]
        features = {h: [r[j] for r in rows] for j, h in enumerate(header) if h != label}
        if model.preprocessing[model.graph.input_name].get("columns"):
            want = model.predict(features)  # columns by name, whichever input reads them
        else:  # an untyped table's numbers, in the file's order
            want = model.predict(np.array(list(features.values()), dtype=float).T)
        # float32, printed by infer and read back: 1e-5
        np.testing.assert_allclose(np.array(answers).reshape(want.shape), want, rtol=1e-5,
                                   atol=1e-6)
