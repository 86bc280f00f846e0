"""`nnspec fmt`: canonical, idempotent, meaning-preserving, comments kept."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnspec.lang.fmt import fmt
from nnspec.lang import parse

from conftest import MODELS, run_cli

ACTS = ["relu", "tanh", "sigmoid", "softmax", "linear"]
SPACE = st.sampled_from([" ", "  ", "\t", " \t "])


@st.composite
def _layer(draw, block_param=None):
    kind = draw(st.sampled_from(["dense", "conv", "maxpool", "avgpool", "lstm"]))
    if kind == "dense":
        units = block_param if block_param and draw(st.booleans()) else \
            str(draw(st.integers(1, 64)))
        words = [units] + draw(st.lists(st.sampled_from(ACTS), max_size=1))
        options = draw(st.lists(st.sampled_from(["lr=0.01", "l2=1e-4", "bias=false",
                                                 "init=he", "l1=0"]), max_size=2, unique=True))
    elif kind == "conv":
        k = draw(st.integers(1, 5))
        f = "{" + block_param + "}" if block_param and draw(st.booleans()) else \
            str(draw(st.integers(1, 8)))
        words = [f"{k}x{k}x{f}"] + draw(st.lists(st.sampled_from(["same", "valid", "full"]),
                                                 max_size=1))
        words += draw(st.lists(st.sampled_from(ACTS), max_size=1))
        words = [words[0]] + draw(st.permutations(words[1:]))  # names bind by meaning
        options = draw(st.lists(st.sampled_from(["stride=2", "lr=0.5"]), max_size=1))
    elif kind == "lstm":  # a flag word (bidirectional), or its option form
        words = [str(draw(st.integers(1, 8)))] + draw(st.lists(st.just("bidirectional"),
                                                              max_size=1))
        options = draw(st.lists(st.sampled_from(["return_sequences=true"] + (
            [] if len(words) > 1 else ["bidirectional=true", "bidirectional=false"])),
            max_size=2, unique_by=lambda o: o.split("=")[0]))
    else:
        words = [draw(st.sampled_from(["2", "3", "2x3"]))]
        options = draw(st.lists(st.just("stride=1"), max_size=1))
    sep = draw(SPACE)
    return sep.join([kind] + words + options)


def _comment(draw):
    return draw(st.sampled_from(["", "", "", "  # note", " #x", "\t# -> not an arrow"]))


@st.composite
def specs(draw):
    lines = []
    if draw(st.booleans()):
        lines.append("nnspec 1" + _comment(draw))
    lines += [draw(st.sampled_from(["", "# a spec", "\n"]))]
    lines.append("input " + draw(st.sampled_from(["8x8x1", "12x10x3", "16", "7"]))
                 + _comment(draw))
    block = draw(st.booleans())
    if block:
        inner = [draw(_layer("f")) for _ in range(draw(st.integers(1, 3)))]
        lines += ["", "block blk(f) {", "  " + " -> ".join(inner), "}", ""]
    labels, count = [], 0
    for _ in range(draw(st.integers(1, 4))):
        elements = []
        for _ in range(draw(st.integers(1, 4))):
            choice = draw(st.integers(0, 9))
            earlier = labels[:-1] if elements and elements[-1].startswith(f"n{count}:") \
                else labels  # add(x) right after x would have one input
            if choice == 0 and earlier and elements:
                elements.append(f"add({draw(st.sampled_from(earlier))})")
            elif choice == 1:
                elements.append(f"({draw(_layer())}) x{draw(st.integers(1, 3))}")
            elif choice == 2 and block:
                elements.append(f"blk({draw(st.integers(1, 9))})")
            elif choice == 3:
                count += 1
                labels.append(f"n{count}")
                elements.append(f"n{count}:{draw(SPACE)}{draw(_layer())}")
            else:
                elements.append(draw(_layer()))
        joiners = [draw(st.sampled_from([" -> ", "->", "\n  -> ", " ->\n    ",
                                         "  # c\n-> "])) for _ in elements[1:]]
        text = elements[0] + "".join(j + e for j, e in zip(joiners, elements[1:]))
        lines.append(text + _comment(draw))
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "# between", "   "])))
    if draw(st.booleans()):
        settings_ = draw(st.lists(st.sampled_from([
            "loss = mse", "optimizer = adam(beta1=0.8)", "lr = 1e-3", "batch_size = 8",
            "schedule = cosine(warmup=5)", "metrics = [accuracy,top_k(2)]", "split = 80/20",
            "data = shapes(100, noise=0.2)", "early_stopping = 3", "seed = 4"]),
            max_size=5, unique_by=lambda s: s.split("=")[0]))
        lines += ["train {"] + ["   " + s + _comment(draw) for s in settings_] + ["}"]
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_fmt_keeps_meaning_and_is_idempotent(text):
    once = fmt(text)
    assert parse(once) == parse(text)
    assert fmt(once) == once
    assert once.count("#") == text.count("#")  # no comment lost or duplicated


def test_fmt_layout_by_example():
    text = ("input  16x16x1 # pixels\n\n\nconv 3x3x8   relu same stride=2->dense 4\n"
            "train{\nloss=mse\n  # why\nlr = 0.001 }\n")
    assert fmt(text) == ("input 16x16x1  # pixels\n\nconv 3x3x8 relu same stride=2 -> dense 4\n\n"
                         "train {\n  loss = mse\n  # why\n  lr = 0.001\n}\n")


def test_every_model_is_formatted():
    r = run_cli("fmt", "--check", *sorted(MODELS.glob("*.nn")))
    assert r.returncode == 0, r.stderr


def test_fmt_write_and_check(tmp_path):
    spec = tmp_path / "a.nn"
    spec.write_text("input 4\ndense   3 relu->dense 2\n")
    r = run_cli("fmt", "--check", spec)
    assert r.returncode == 1 and "not formatted" in r.stderr and r.stdout == ""
    assert run_cli("fmt", "-w", spec).returncode == 0
    assert spec.read_text() == "input 4\ndense 3 relu -> dense 2\n"
    assert run_cli("fmt", "--check", spec).returncode == 0
    spec.write_text("input 4\ndense 3 ->\n")
    r = run_cli("fmt", spec)
    assert r.returncode == 2 and ":2:" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("path", sorted(MODELS.glob("*.nn")), ids=lambda p: p.name)
def test_models_survive_fmt(path):
    text = path.read_text()
    assert parse(fmt(text)) == parse(text)
