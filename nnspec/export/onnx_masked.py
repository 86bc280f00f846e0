"""ONNX operators for layers over a masked sequence (embedding mask_zero=true),
as the engines compute them: the mask (batch, time) bool is Not(Equal(ids, 0))
in the graph (onnx.py, lang/masks.follow), and a rule finds the one its layer
sees in b.mask.

ONNX's RNN, LSTM and GRU take sequence_lens, which counts a row's first
steps; so each row's seen steps are moved to the front first, in order (a
seen step goes to the count of seen steps before it, a masked one after all
the seen, which makes a permutation: ScatterElements writes every place once),
and the outputs are gathered back (zeros at masked steps). A row with none
seen runs one zero step whose state is dropped: its state is 0."""
import numpy as np


def _i64(b, values):
    return b.const(values, "i", np.int64)


def seen_as(b, mask, dtype_of):
    """The mask as 1 and 0 of the graph's float type, (batch, time, 1)."""
    return b.op("Unsqueeze", [b.op("Cast", [mask], to=dtype_of), _i64(b, [2])])


def compact(b, x, mask, elem):
    """x (batch, time, features) -> (x with each row's seen steps first and the
    masked zeroed, where each step went (batch, time, 1) int64, lengths (batch,)
    int32 of at least 1, whether a row has a seen step (batch, 1) float)."""
    seen = b.op("Cast", [mask], to=b.onnx.TensorProto.INT64)
    axis = _i64(b, 1)
    count = b.op("ReduceSum", [seen, _i64(b, [1])], keepdims=1)  # (batch, 1)
    one = _i64(b, 1)
    before = b.op("Sub", [b.op("CumSum", [seen, axis]), one])
    masked_before = b.op("Sub", [b.op("CumSum", [b.op("Sub", [one, seen]), axis]), one])
    dest = b.op("Where", [mask, before, b.op("Add", [count, masked_before])])
    dest = b.op("Unsqueeze", [dest, _i64(b, [2])])
    zeroed = b.op("Mul", [x, seen_as(b, mask, elem)])
    where = b.op("Expand", [dest, b.op("Shape", [x])])
    front = b.op("ScatterElements", [zeroed, where, zeroed], axis=1)
    lengths = b.op("Cast", [b.op("Max", [b.op("Squeeze", [count, _i64(b, [1])]), one])],
                   to=b.onnx.TensorProto.INT32)
    some = b.op("Cast", [b.op("Greater", [count, b.const(0, "zero", np.int64)])], to=elem)
    return front, dest, lengths, some


def scatter_back(b, y, dest, mask, elem):
    """Every state (batch, time, units) of the compacted steps -> at their own
    steps, zeros at the masked."""
    where = b.op("Expand", [dest, b.op("Shape", [y])])
    back = b.op("GatherElements", [y, where], axis=1)
    return b.op("Mul", [back, seen_as(b, mask, elem)])


def global_pool(b, kind, x, mask, elem):
    """A global pool over the seen steps of (batch, time, features); 0 where none is."""
    seen = seen_as(b, mask, elem)
    count = b.op("ReduceSum", [seen, _i64(b, [1])], keepdims=0)  # (batch, 1)
    if kind == "ReduceMean":
        total = b.op("ReduceSum", [b.op("Mul", [x, seen]), _i64(b, [1])], keepdims=0)
        return b.op("Div", [total, b.op("Max", [count, b.const(1.0)])])
    hidden = b.op("Not", [b.op("Unsqueeze", [mask, _i64(b, [2])])])
    top = b.op("ReduceMax", [b.op("Where", [hidden, b.const(-np.inf), x])], axes=[1], keepdims=0)
    return b.op("Where", [b.op("Greater", [count, b.const(0.0)]), top, b.const(0.0)])


def key_mask(b, scores, mask):
    """Attention's scores (batch, heads, time, time) with -inf at masked keys."""
    keys = b.op("Unsqueeze", [mask, _i64(b, [1, 2])])
    return b.op("Where", [keys, scores, b.const(-np.inf)])


def no_nan(b, a):
    """Softmax weights of a query that sees no key (every score -inf: NaN) -> 0."""
    return b.op("Where", [b.op("IsNaN", [a]), b.const(0.0), a])
