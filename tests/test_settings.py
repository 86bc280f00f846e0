"""Every train setting is read by one function (lang/settings.read), whichever way
it comes: the spec's train block, the command line (its flags and --set), compile()
with spec text or a Python value, and the estimator's parameters; each gives the
same configuration, and a bad value the same message."""
import pytest

import nnspec
from nnspec.cli.parser import build as _parser
from nnspec.cli.train import overrides
from nnspec.lang.ir import Call
from nnspec.lang.settings import SETTINGS, read

NET = "input 4\ndense 8 relu -> dense 3 softmax\n"
# a value of every setting a spec may write, as spec text, and as a Python value
VALUES = {
    "loss": ("mse", "mse"),
    "optimizer": ("adam(beta1=0.8, lr=0.003)", Call("adam", (), (("beta1", 0.8), ("lr", 0.003)))),
    "lr": ("0.002", 0.002),
    "schedule": ("cosine(warmup=2)", Call("cosine", (), (("warmup", 2),))),
    "batch_size": ("16", 16),
    "epochs": ("3", 3),
    "l1": ("0.001", 0.001), "l2": ("2e-4", 2e-4), "l1_bias": ("0.5", 0.5), "l2_bias": ("1", 1),
    "clip_norm": ("1.5", 1.5),
    "reduction": ("sum", "sum"),
    "metrics": ("[accuracy, top_k(2)]", ("accuracy", Call("top_k", (2,)))),
    "early_stopping": ("early_stopping(patience=2)", Call("early_stopping", (),
                                                           (("patience", 2),))),
    "data": ("spiral(100, classes=3)", Call("spiral", (100,), (("classes", 3),))),
    "validation": ("spiral(50, classes=3)", Call("spiral", (50,), (("classes", 3),))),
    "split": ("80/20", (0.8, 0.2)),
    "shuffle": ("false", False),
    "resample": ("true", True),
    "scale": ("pixels(-1, 1)", Call("pixels", (-1, 1))),
    "seed": ("7", 7),
    "dtype": ("float64", "float64"),
}
WRITTEN = [s.key for s in SETTINGS if s.forms]


def test_the_table_has_every_setting_a_spec_writes():
    assert set(VALUES) == set(WRITTEN)


def _spec(key, text):
    return nnspec.compile(NET + f"train {{\n  {key} = {text}\n}}\n").config


def _cli(key, text):
    args = _parser().parse_args(["train", "x.nn", "-o", "x.nnb", "--set", f"{key}={text}"])
    return nnspec.compile(NET, **overrides(args)).config


def _python_text(key, text):
    return nnspec.compile(NET, **{key: text}).config


def _python_value(key, value):
    return nnspec.compile(NET, **{key: value}).config


def _estimator(key, text):
    from nnspec.sklearn import PARAMETERS, Classifier
    if key not in PARAMETERS:  # data and resample: an estimator trains on fit's X and y
        return None
    return nnspec.compile(NET, **Classifier(NET, **{key: text})._overrides()).config


@pytest.mark.parametrize("key", WRITTEN)
def test_every_setting_reads_the_same_from_the_spec_the_cli_python_and_the_estimator(key):
    text, value = VALUES[key]
    want = _spec(key, text)
    assert want != nnspec.compile(NET).config, "the value is the default: it proves nothing"
    assert _cli(key, text) == want
    assert _python_text(key, text) == want
    assert _python_value(key, value) == want
    if key != "resample":
        pytest.importorskip("sklearn")
        got = _estimator(key, text)
        assert got is None or got == want


BAD = {"lr": "-1", "batch_size": "0", "epochs": "2.5", "reduction": "median",
       "shuffle": "maybe", "split": "0/0", "dtype": "float16", "seed": str(1 << 64),
       "optimizer": "adam(0.1)", "scale": "gray"}


@pytest.mark.parametrize("key", sorted(BAD))
def test_a_bad_value_is_the_same_message_every_way(key):
    with pytest.raises(nnspec.SpecError) as spec:
        _spec(key, BAD[key])
    message = spec.value.message
    with pytest.raises(nnspec.SpecError) as python:
        _python_text(key, BAD[key])
    assert python.value.message.endswith(message)  # text that does not parse: quoted first
    args = _parser().parse_args(["train", "x.nn", "-o", "x.nnb", "--set", f"{key}={BAD[key]}"])
    with pytest.raises(nnspec.NNSpecError) as cli:
        nnspec.compile(NET, **overrides(args))
    assert str(cli.value).endswith(message)


def test_an_unknown_setting_is_named_with_a_suggestion_every_way():
    with pytest.raises(nnspec.SpecError, match="unknown train setting 'learning_rate'"):
        read("learning_rate", "0.1")
    args = _parser().parse_args(["train", "x.nn", "-o", "x.nnb", "--set", "epoch=3"])
    with pytest.raises(nnspec.DataError, match="--set epoch: unknown train setting 'epoch'; "
                       "did you mean 'epochs'?"):
        overrides(args)
    with pytest.raises(TypeError, match="unknown override 'epoch'"):
        nnspec.compile(NET, epoch=3)


def test_another_optimizer_drops_the_specs_options_unless_it_brings_its_own():
    spec = NET + "train {\n  optimizer = sgd(momentum=0.9)\n}\n"
    assert nnspec.compile(spec, optimizer="adam").config.optimizer_options == ()
    assert nnspec.compile(spec, optimizer="adam(beta2=0.99)").config.optimizer_options == (
        ("beta2", 0.99),)
    with pytest.raises(nnspec.DataError,
                       match="--optimizer: give the learning rate with --lr"):
        overrides(_parser().parse_args(["train", "x.nn", "-o", "x", "--optimizer",
                                        "adam(lr=0.1)"]))
