"""The first cut of the language: what parses to what, and what errors say."""
import pytest

import nnspec
from nnspec.lang import parse
from nnspec.lang.printer import format_network
from nnspec.engine.summary import is_chain

from conftest import MODELS

SEED_000 = """
input 16x16x1
conv 3x3x2 same tanh -> conv 3x3x3 valid tanh -> dense 100 relu -> dense 4 softmax
"""


def test_chain_over_one_line():
    net = parse(SEED_000)
    assert [n.name for n in net.nodes] == ["input", "conv1", "conv2", "dense1", "dense2"]
    assert [n.inputs for n in net.nodes[1:]] == [("input",), ("conv1",), ("conv2",), ("dense1",)]
    conv1 = net.node("conv1").p
    assert conv1["kernel"] == (3, 3, 2) and conv1["padding"] == "same"
    assert conv1["activation"] == "tanh"
    assert net.train is None


def test_chain_over_several_lines_with_comments_is_the_same_network():
    text = """# a comment
    input 16x16x1   # trailing comment
    conv 3x3x2 same tanh
      # a comment between layers
      -> conv 3x3x3 valid tanh ->
      dense 100 relu
      -> dense 4 softmax
    """
    assert parse(text) == parse(SEED_000)


def test_a_pool_window_prints_back_as_written():
    from nnspec.lang.printer import format_network
    """maxpool K stays K (KxK on an image, K steps over a sequence): written KxK it
    would be a 2-D window, which a sequence refuses."""
    net = parse("input 9x3\nmaxpool 2 same stride=3 -> avgpool 2")
    assert [n.p["window"] for n in net.nodes[1:]] == [2, 2]
    text = format_network(net)
    assert "maxpool 2 same stride=3" in text and "avgpool 2" in text and "2x2" not in text
    assert parse(text).nodes == net.nodes
    assert parse("input 8x8x1\nmaxpool 3x2").nodes[1].p["window"] == (3, 2)


def test_word_order_of_names_does_not_matter():
    assert parse("input 8x8x1\nconv 3x3x2 tanh same") == parse("input 8x8x1\nconv 3x3x2 same tanh")


def test_options_and_train_block():
    net = parse("""nnspec 1
input 784
dense 10 softmax lr=1e-3 l2=0.5
train {
  loss = cross_entropy
  optimizer = sgd(lr=0.1, momentum=0.9)
  batch_size = 64
  epochs = 3
  l2 = 5e-4
  data = shapes(n=100)
  split = 70/15/15
  seed = 42
}""")
    assert net.node("dense1").p["lr"] == 0.001 and net.node("dense1").p["l2"] == 0.5
    t = net.train
    assert (t.lr, t.optimizer, dict(t.optimizer_options)) == (0.1, "sgd", {"momentum": 0.9})
    assert (t.batch_size, t.epochs, t.l2, t.seed) == (64, 3, 0.0005, 42)
    assert t.split == pytest.approx((0.7, 0.15, 0.15))
    assert t.data.name == "shapes" and dict(t.data.kwargs) == {"n": 100}


@pytest.mark.parametrize("path", sorted(MODELS.glob("*.nn")), ids=lambda p: p.name)
def test_models_compile_and_print_back(path):
    model = nnspec.compile(path)
    assert model.graph.output_shape
    if is_chain(model.network):  # the IR printer writes chains; fmt writes any spec
        assert parse(format_network(model.network)) == model.network


# (spec, line, column, key words of the message)
BAD_SPECS = [
    ("input 8x8x1\nconv 3x3x2 same tanh -> -> dense 4", 2, 25, ["unexpected '->'"]),
    ("input 8x8x1\ncnov 3x3x2", 2, 1, ["unknown layer 'cnov'", "did you mean 'conv'", "conv, dense"]),
    ("input 8x8x1\nconv 3x3x2 same relu6", 2, 17, ["unexpected 'relu6'", "did you mean 'relu'"]),
    ("input 8x8x1\nconv 3x3x2 same tanh strides=2", 2, 22, ["conv spells 'strides' as 'stride'",
                                                          "stride=2"]),
    ("input 8x8x1\nconv 3x3x2 padding=same", 2, 12, ["conv takes its padding as a word",
                                                    "write 'same' on its own"]),
    ("input 8x8x1\ndense 4 activation=relu", 2, 9, ["dense takes its activation as a word",
                                                   "write 'relu' on its own"]),
    ("input 8x8x1\ndense units=64", 2, 7, ["dense takes its units as a word"]),
    ("input 8x8x1\nmaxpool pool_size=2", 2, 9, ["maxpool takes its window as a word"]),
    ("input 4\ndense 2 use_bias=false", 2, 9, ["dense spells 'use_bias' as 'bias'"]),
    ("input 4x4x1\nconv 3x3x2 same kernel_initializer=he", 2, 17, ["spells 'kernel_initializer' "
                                                                  "as 'init'"]),
    ("input 8x8x1\nconv 3x3x2 same tanh dense 4", 2, 22, ["unexpected 'dense'",
                                                        "forget '->'"]),
    ("input 8x8x1\nconv 3x3x3x3 same", 2, 6, ["unexpected '3x3x3x3'",
                                               "usage: conv KHxKWxFILTERS"]),
    ("input 8x8x1\ndense", 2, 1, ["dense needs a number (units)"]),
    ("input 8x8x1\ndense 4 lr=fast", 2, 9, ["option 'lr' must be a number"]),
    ("input 8x8x1\ndense 4 stride=2", 2, 9, ["unknown option 'stride' for dense"]),
    ("conv 3x3x2", 1, 1, ["layers must come after the 'input' line"]),
    ("input 8x8x1\ninput 4", 2, 7, ["a second unnamed input; name each input"]),
    ("input 4\ndense 2\ntrain {\n  epoch = 3\n}", 4, 3, ["unknown train setting 'epoch'",
                                                      "did you mean 'epochs'"]),
    ("input 4\ndense 2\ntrain {\n  loss = crossentropy\n}", 4, 3, ["unknown loss 'crossentropy'",
                                                                  "did you mean 'cross_entropy'"]),
    ("input 4\ndense 2\ntrain {\n  batch_size = 0\n}", 4, 3, ["a whole number from 1 to"]),
    ("input 8x8x1\nconv 3x3x2 same tanh\n  dense 4 = 3", 3, 11, ["unexpected '='"]),
    ("nnspec 2\ninput 4\ndense 2", 1, 8, ["version 1 specs, not version 2"]),
    # graphs: names, references, merges, repeats, blocks
    ("input 4\na: dense 3\na: dense 2", 3, 1, ["the name 'a' is taken (line 2)"]),
    ("input 4\ndense 3 -> add(nope)", 2, 16, ["'nope' is neither a layer kind nor a layer defined"]),
    ("input 4\ndense 3 -> add(b)\nb: dense 3", 2, 16, ["'b' is defined later (line 3)",
                                                      "cannot have a cycle"]),
    ("input 4\nblock b(f) {\n  dense f\n}\nb(1, 2)", 5, 1, ["block 'b' takes 1 argument (f), got 2"]),
    ("input 4\nblock b(f, g) {\n  dense f\n}\nb(1)", 5, 1, ["takes 2 arguments", "'g' is missing"]),
    ("input 4\nres(3)", 2, 1, ["unknown block or merge 'res'", "known: add, concat"]),
    ("input 4\nblock b(f) {\n  b(f)\n}\nb(2)", 3, 3, ["block 'b' calls itself"]),
    ("input 4\na: dense 3\ndense 2 -> add(a)", 3, 12, ["add1: add needs inputs of one shape",
                                                      "got 2, 3 from dense1, a"]),
    ("input 4x4x1\na: conv 3x3x2 same\nmaxpool 2 -> concat(a)", 3, 14, [
        "concat1: concat needs inputs that differ only in their last dimension",
        "got 2x2x2, 4x4x2 from maxpool1, a"]),
    ("input 4\na: dense 3\ninput -> dense 2", 2, 4, ["a does not lead to the output (dense1)"]),
    ("input 4\nconv: dense 3", 2, 1, ["'conv' is a layer kind; a layer needs another name"]),
    ("input 4\ng: (dense 3) x2", 2, 1, ["a repeated group cannot be named ('g')"]),
    ("input 4\n(a: dense 3) x2", 2, 2, ["'a' is inside a group repeated x2", "use a block"]),
    ("input 4\n(dense 3) x0", 2, 11, ["a group repeats at least once, got x0"]),
    ("input 4\ndense {f}", 2, 7, ["'{f}' is not a parameter of the top level"]),
    ("input 4\na: dense 3\ndense 3 -> add(x=a)", 3, 18, ["add takes the names of earlier layers"]),
    ("input 4\ndense 3 -> add", 2, 12, ["add takes its inputs in parentheses: add(a, b)"]),
    ("input 4\ndense(3)", 2, 1, ["'dense' is a layer, not a block"]),
    ("block b(f) {\n  dense f\n}\nblock b(g) {\n  dense g\n}\ninput 4\nb(1)", 4, 7,
     ["block 'b' is defined twice (first at line 1)"]),
    ("input 4x4x1\nblock b(f) {\n  conv 3x3x{f}\n}\nb(relu)", 3, 8,
     ["'{f}' in 3x3x{f} must be a block parameter given a whole number"]),
    ("input 4\ndense 3 -> add(dense1)", 2, 12, ["add needs at least two inputs, got 1"]),
    # train settings, each reported at its own line
    *[(f"input 4\ndense 2\ntrain {{\n  {setting}\n}}", 4, 3, words) for setting, words in [
        ("optimizer = adma", ["unknown optimizer 'adma'", "did you mean 'adam'"]),
        ("optimizer = adam(beta3=0.9)", ["unknown option 'beta3' for adam", "beta1, beta2, eps"]),
        ("optimizer = adam(beta1=1.5)", ["adam: beta1 must be in [0, 1), got 1.5"]),
        ("optimizer = sgd(momentum=0.9, nesterov=yes)", ["nesterov must be true or false"]),
        ("schedule = cosin", ["unknown schedule 'cosin'", "did you mean 'cosine'"]),
        ("schedule = inverse_time", ["inverse_time needs decay", "inverse_time(decay=...)"]),
        ("schedule = step(every=0)", ["step: every must be a positive integer, got 0"]),
        ("schedule = plateau(factor=2)", ["plateau: factor must be in (0, 1), got 2"]),
        ("metrics = [accuracy, top5]", ["unknown metric 'top5'", "accuracy, mae, mse, top_k"]),
        ("metrics = 3", ["train setting 'metrics' cannot be 3"]),
        ("early_stopping = 0", ["train setting 'early_stopping' must be at least 1"]),
        ("early_stopping = early_stopping(patiense=3)", ["unknown option 'patiense'",
                                                         "did you mean 'patience'"]),
        ("clip_norm = -1", ["train setting 'clip_norm' must be at least 0.0"]),
        ("l2_bias = -0.5", ["train setting 'l2_bias' must be at least 0.0"]),
    ]],
    # shapes
    ("input 5x5x1\nconv 7x7x4 valid", 2, 1, ["conv1: conv 7x7x4 valid needs at least 7x7 input",
                                             "got 5x5x1 from input"]),
    ("input 16x16x1\nconv 3x3x2 same -> conv 9x9x4 valid -> conv 9x9x1 valid", 2, 40,
     ["conv3", "needs at least 9x9 input", "got 8x8x4 from conv2"]),
    ("input 10\nconv 3x3x2", 2, 1, ["needs an HxWxC input, got 10"]),
    # a kernel of two dims is a 1-D conv over a sequence, of three a 2-D conv over an image
    ("input 8x8x1\nconv 3x3 same", 2, 1, ["conv1: conv 3x3 same is a 1-D convolution (kernel 3, "
                                          "3 filters)", "on an image write conv KHxKWxFILTERS, "
                                          "e.g. conv 3x3x3", "got 8x8x1 from input"]),
    ("input 20x16\nconv 3x3x32 same", 2, 1, ["needs an HxWxC input (over a TIMExFEATURES "
                                            "sequence write conv 3x32)", "got 20x16 from input",
                                            "write input 20x16x1"]),
    ("input 8\ndense 12 -> reshape 4x3 -> conv 3x3x5", 2, 28,
     ["needs an HxWxC input (over a TIMExFEATURES sequence write conv 3x5)", "got 4x3 from"]),
    ("input 10\nconv 3x2", 2, 1, ["needs a TIMExFEATURES input", "write input 10x1"]),
    ("input 2x4\nconv 3x2 valid", 2, 1, ["conv 3x2 valid needs at least 3 steps, got 2x4"]),
    ("input 5x4\nconv 3x2 dilation=3", 2, 1, ["needs at least 7 steps (its dilated span)"]),
    # a pool's K is KxK on an image and K steps over a sequence; KHxKW is for images only
    ("input 20x16\nmaxpool 2x2", 2, 1, ["maxpool1: maxpool 2x2 valid needs an HxWxC input (over "
                                        "a TIMExFEATURES sequence write maxpool 2)",
                                        "got 20x16 from input", "write input 20x16x1"]),
    ("input 8\ndense 12 -> reshape 4x3 -> avgpool 3x2 same", 2, 28,
     ["needs an HxWxC input (over a TIMExFEATURES sequence write avgpool 3)", "got 4x3 from"]),
    ("input 10\nmaxpool 2", 2, 1, ["needs a TIMExFEATURES input (maxpool 2 pools over time) or "
                                   "an HxWxC image", "write input 10x1"]),
    ("input 10\navgpool 2x2", 2, 1, ["needs an HxWxC input, got 10"]),
    ("input 2x4\nmaxpool 3", 2, 1, ["maxpool 3 valid needs at least 3 steps, got 2x4"]),
    ("input 6x4\nconv 3x2 valid -> avgpool 5 stride=2", 2, 19,
     ["avgpool1: avgpool 5 valid needs at least 5 steps, got 4x2 from conv1"]),
    # bidirectional: a flag word on the recurrent layers, or bidirectional=true
    ("input 5x3\nlstm 4 bidirectionl", 2, 8, ["unexpected 'bidirectionl'",
                                              "did you mean 'bidirectional'?",
                                              "usage: lstm UNITS [bidirectional]"]),
    ("input 5x3\ngru 4 bidirectional bidirectional", 2, 21, ["bidirectional is already given"]),
    ("input 5x3\nrnn 4 bidirectional bidirectional=true", 2, 21,
     ["bidirectional given twice: write it once"]),
    ("input 5x3\nlstm 4 bidirectional=yes", 2, 8,
     ["lstm option 'bidirectional' must be true or false, got yes"]),
    ("input 5x3\ndense 4 bidirectional", 2, 9, ["unexpected 'bidirectional' in dense"]),
    ("input 5\nlstm 4 bidirectional", 2, 1, ["needs a TIMExFEATURES input"]),
]


@pytest.mark.parametrize("text,line,column,words", BAD_SPECS, ids=[b[0][:40] for b in BAD_SPECS])
def test_bad_specs_are_located_and_explained(text, line, column, words):
    with pytest.raises(nnspec.SpecError) as info:
        nnspec.compile(text)
    e = info.value
    assert (e.line, e.column) == (line, column), str(e)
    for word in words:
        assert word in e.message, f"{word!r} not in {e.message!r}"
    assert e.excerpt().splitlines()[0].strip() == text.splitlines()[line - 1].strip()


def test_weights_beyond_the_parameter_bound_are_a_located_error_before_allocating():
    with pytest.raises(nnspec.ShapeError) as info:
        nnspec.compile("input 1000x1000x3\nconv 3x3x2 same\n  -> dense 100000")
    assert (info.value.line, info.value.column) == (3, 6)
    assert "dense1: dense 100000 brings the network to 200,000,100,056 parameters; the most " \
        "nnspec builds is 1,073,741,824" in info.value.message


@pytest.mark.parametrize("spec,where,words", [
    ("input 100000x100000x3\ndense 2", (1, 7), "the input outputs 100000x100000x3"),
    ("input 4\ndense 999999999999", (2, 1), "dense1: dense 999999999999 outputs"),
    ("input 4x4x1\nupsample 99999999999 -> dense 2", (2, 1), "upsample1: upsample"),
    ("input 4\ndense " + "9" * 5000, (2, 7), "has 5000 digits; whole numbers have at most 18"),
    ("input 4\ndense 2 l2=1e999", (2, 12), "the number 1e999 is too large"),
    ("input 8x8x1\nmaxpool 0 -> dense 2", (2, 9), "maxpool window must be at least 1, got 0"),
    ("input 8x8x1\nmaxpool -7 -> dense 2", (2, 9), "maxpool window must be at least 1, got -7"),
    ("input 8x8x1\nconv 3x0x2 -> dense 2", (2, 6), "conv kernel must be at least 1, got 3x0x2"),
    ("input 4\n(dense 2) x1000000", (2, 11), "a group repeats at most 100,000 times"),
    ("input 4\nd: dense 2\n((d) x10000) x10000", (3, 3), "more than 100,000 layers and refer"),
    ("input 4\n" + "(" * 300 + "dense 2" + ") x2" * 300, (2, None), "nest more than 100 deep"),
    ("".join(f"block b{i}() {{ {f'b{i - 1}()' if i else 'dense 2'} }}\n" for i in range(300))
     + "input 4\nb299()", (None, None), "nest more than 100 deep"),
])
def test_sizes_counts_and_nesting_beyond_the_bounds_are_located_errors(spec, where, words):
    with pytest.raises(nnspec.SpecError) as info:
        nnspec.compile(spec)
    got = (info.value.line, info.value.column)
    assert all(w is None or w == g for w, g in zip(where, got)), got
    assert words in info.value.message and "\n" not in str(info.value)


@pytest.mark.parametrize("kind,gates", [("rnn", 1), ("lstm", 4), ("gru", 3)])
def test_bidirectional_is_a_word_or_an_option_and_prints_back_as_the_word(kind, gates):
    """`lstm 32 bidirectional` and `lstm 32 bidirectional=true` are one layer: both
    directions' states concatenated (2*UNITS), each direction's own weights."""
    word = parse(f"input 7x3\n{kind} 5 bidirectional return_sequences=true")
    option = parse(f"input 7x3\n{kind} 5 return_sequences=true bidirectional=true")
    assert word == option and word.nodes[1].p["bidirectional"] is True
    printed = format_network(option)
    assert f"{kind} 5 bidirectional return_sequences=true" in printed
    assert parse(printed) == word
    off = parse(f"input 7x3\n{kind} 5 bidirectional=false")
    assert off == parse(f"input 7x3\n{kind} 5") and "bidirectional" not in format_network(off)
    model = nnspec.compile(f"input 7x3\n{kind} 5 bidirectional")
    assert model.graph.output_shape == (10,)
    assert nnspec.compile(printed).graph.output_shape == (7, 10)
    one_way = (3 * gates * 5 + 5 * gates * 5 + gates * 5 * (2 if kind == "gru" else 1))
    assert sum(v.size for v in model.weights.values()) == 2 * one_way
    assert sorted(model.weights) == sorted(f"{kind}1.{n}{s}" for s in ("", "_r") for n in
                                           ["W", "U", "b"] + (["rb"] if kind == "gru" else []))
    roles = model.graph.roles  # penalties and decay reach the reverse weights as the forward's
    assert all(roles[k] == roles[k[:-2]] for k in model.weights if k.endswith("_r"))


def test_shape_errors_are_shape_errors():
    with pytest.raises(nnspec.ShapeError):
        nnspec.compile("input 5x5x1\nconv 7x7x4 valid")


def test_train_settings_print_back_to_the_same_config():
    text = ("input 4\ndense 2 softmax l2_bias=0.1\ntrain {\n  optimizer = adam(beta1=0.8)\n"
            "  schedule = cosine(warmup=10, floor=0.1)\n  metrics = [accuracy, top_k(2)]\n"
            "  early_stopping = 3\n  clip_norm = 1\n  l1_bias = 0\n  l2_bias = 5e-4\n}")
    network = parse(text)
    printed = format_network(network)
    assert "early_stopping = early_stopping(patience=3)" in printed
    assert "metrics = [accuracy, top_k(2)]" in printed
    assert parse(printed) == network and format_network(parse(printed)) == printed


def test_the_200_layer_benchmark_spec_compiles():
    import sys
    sys.path.insert(0, str(MODELS.parent / "benchmarks"))
    from parse_200 import spec
    network = parse(spec())
    assert len(network.nodes) - 1 >= 200
    assert nnspec.compile(spec()).graph.output_shape == (10,)
