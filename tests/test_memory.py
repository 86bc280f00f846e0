"""The plan of a training step's memory (engine/memory.py) bounds what numpy
allocates: tracemalloc's peak over compiling and training a few batches stays
under the plan plus OVERHEAD for every layer kind, every row of the gradient
table and every shipped model, at two batch sizes; and a spec whose plan is over
MAX_STEP_BYTES is refused at the line of its heaviest layer, before any weight
exists."""
import tracemalloc

import numpy as np
import pytest

import nnspec
from nnspec.engine import memory
from nnspec.lang.kinds import KINDS

import test_gradients
from conftest import MODELS, targets_for
from test_export import _how, _inputs

ROWS = [(KINDS[k].example + "\n-> flatten -> dense 3 softmax", _how(k)) for k in sorted(KINDS)]
ROWS += [(row[0] + "\n-> flatten -> dense 3 softmax",
          row[2] if len(row) > 2 and str(row[2]).startswith("ids") else "")
         for row in test_gradients.LAYER_ROWS]
ROWS += [(p.read_text(), "") for p in sorted(MODELS.glob("*.nn"))]
# larger networks, where the arrays outweigh the Python objects
ROWS += [(spec, "") for spec in (
    "input 48x48x3\nconv 3x3x16 same tanh -> conv 3x3x32 valid stride=2 -> flatten -> dense 3",
    "input 32x32x8\nconv 5x5x16 full dilation=2 -> maxpool 3 same stride=1 -> avgpool 2 "
    "-> globalmaxpool -> dense 3",
    "input 40x32\nlstm 64 return_sequences=true -> gru 32 return_sequences=true -> rnn 16 "
    "-> dense 3",
    "input 40x32\nlstm 64 bidirectional return_sequences=true -> gru 32 bidirectional "
    "-> dense 3",
    "input 64x64\nlayernorm -> attention 4 causal=true -> positional -> globalavgpool -> dense 3",
    "input 500\ndense 1000 relu -> dense 1000 gelu -> dense 3",
    "input 300x32\nconv 3x32 same relu -> maxpool 3 same stride=1 -> avgpool 2 -> maxpool 4 "
    "stride=2 -> avgpool 3 same -> globalmaxpool -> dense 3",  # pooling over time
)]


def _peak(spec, how, batch_size, rng):
    probe = nnspec.compile(spec, batch_size=batch_size, epochs=1, optimizer="adam")
    x = _inputs(probe, how, 2 * batch_size, rng)
    y = targets_for(probe, 2 * batch_size, rng)
    tracemalloc.start()
    try:
        model = nnspec.compile(spec, batch_size=batch_size, epochs=1, optimizer="adam")
        model.fit(x, y, validation_data=(x, y))
        return tracemalloc.get_traced_memory()[1], memory.plan(model.graph, batch_size)[0]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("batch_size", [4, 32])
@pytest.mark.parametrize("spec,how", ROWS, ids=[f"row{i}" for i in range(len(ROWS))])
def test_a_training_step_holds_no_more_than_its_plan(spec, how, batch_size):
    peak, planned = _peak(spec, how, batch_size, np.random.default_rng(0))
    assert peak <= planned + memory.OVERHEAD, f"{peak:,} > {planned:,} + overhead"


def test_a_spec_that_asks_for_too_much_is_refused_at_its_line_before_any_weight():
    """input 3x3x100000 (a typo's extra zeros) asked for 20 GiB at the first step."""
    spec = "input 3x3x100000\nconv 7x7x32 same -> maxpool 4 same stride=1 -> dense 100"
    tracemalloc.start()
    try:
        with pytest.raises(nnspec.ShapeError) as info:
            nnspec.compile(spec)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value).startswith("<spec>:2:1: conv1: conv 7x7x32 same: a training step "
                                      "at batch size 32 would hold about ")
    assert "lower batch_size" in str(info.value)
    assert peak < 16 << 20  # nothing of the layer's size was allocated


def test_fit_checks_the_batch_size_it_is_given():
    model = nnspec.compile("input 64x64x3\nconv 3x3x64 same relu -> flatten -> dense 2")
    _, by_node = memory.plan(model.graph, 1)
    per_sample = sum(values for _, values, _ in by_node.values()) * 4
    too_many = memory.MAX_STEP_BYTES // per_sample + 1
    with pytest.raises(nnspec.DataError, match=f"fit: .*conv1: .* batch size {too_many} would "
                                               "hold"):
        model.fit(np.zeros((2, 64, 64, 3)), [0, 1], batch_size=too_many)


def test_a_tiny_bundle_of_the_most_layers_loads_within_the_bound(tmp_path):
    """A 400-byte bundle whose repeat expands to the most layers the language allows
    cost 86 MB to load; loading now takes at most document.load_bound of its size."""
    from nnspec.files import document
    from nnspec.lang.build import MAX_LAYERS
    nnspec.compile("input 2\ndense 2 -> (relu) x2").save(tmp_path / "warm.nnb")
    nnspec.load(tmp_path / "warm.nnb")  # the modules a load imports, before measuring
    spec = f"input 2\ndense 2 -> (relu) x{MAX_LAYERS - 10}"
    nnspec.compile(spec).save(tmp_path / "many.nnb")
    size = (tmp_path / "many.nnb").stat().st_size
    assert size < 1000
    tracemalloc.start()
    try:
        model = nnspec.load(tmp_path / "many.nnb")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(model.graph.nodes) == MAX_LAYERS - 9
    assert peak <= document.load_bound(size, 24), f"{peak:,} bytes"


def test_loading_builds_the_graph_once(tmp_path, monkeypatch):
    """document.read builds the graph to check the stored weights; the Model takes
    that graph instead of building it again (half of loading a 20,000-layer
    bundle's time was the second build)."""
    from nnspec.engine import graph as graph_module
    nnspec.compile("input 4\n(dense 4 relu) x30 -> dense 2 softmax").save(tmp_path / "m.nnb",
                                                                           checkpoint=True)
    built = []
    real = graph_module.Graph.__init__

    def counting(self, *args, **kwargs):
        built.append(1)
        real(self, *args, **kwargs)
    monkeypatch.setattr(graph_module.Graph, "__init__", counting)
    nnspec.load(tmp_path / "m.nnb")
    assert len(built) == 1


def test_stride_1_convs_share_one_im2col_matrix_instead_of_keeping_one_each():
    """A training pass of stride-1 convs keeps each layer's input for backward, not
    its im2col columns (engine/layers/conv_grid.py), and builds the columns in
    one scratch buffer they share: five more 5x5 convs over 8 channels, whose
    columns are 201 values a position against 8 for a layer's output, add less
    than three layers' columns to the peak (keeping them added six)."""
    def spec(convs):
        return "input 24x24x8\n" + " -> ".join(["conv 5x5x8 same relu"] * convs) + \
            " -> globalavgpool -> dense 3 softmax"
    rng = np.random.default_rng(0)
    one, _ = _peak(spec(1), "", 32, rng)
    six, _ = _peak(spec(6), "", 32, rng)
    columns = 32 * 24 * 24 * (5 * 5 * 8 + 1) * 4
    assert six - one < 3 * columns, f"{(six - one) / columns:.1f} layers' columns"
