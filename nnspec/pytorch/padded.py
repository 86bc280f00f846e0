"""At predict, the layer before a convolution that pads unevenly writes its
activated output straight into a zero-bordered buffer, which the convolution
reads as its padded input.

nnspec's 'same' is TensorFlow's: a stride-2 convolution over an even size pads
one row and column after the image and none before, and PyTorch's convolutions
pad only evenly, so the engine pads such an input itself (modules.conv:
F.pad, a fill of the whole padded tensor and a copy). The strided net's
predict spent 4.8 of its 23.5 ms there (benchmarks/README.md, "Fast paths").
Where the layer before ends in an activation that has an out= form and no
other layer reads it, the activation writes into the buffer's interior, and
only the border is zeroed. Not where a gradient is taken: autograd would
record the write into a view. tests/test_torch_fast_paths.py holds predict
with it to the numpy engine and to predict without it.
"""
from ..lang.kinds.conv import is_1d, pads, span

# activation name -> f(torch, z, out): the activation of z written into out
INTO = {"relu": lambda torch, z, out: torch.clamp_min(z, 0, out=out),
        "tanh": lambda torch, z, out: torch.tanh(z, out=out),
        "sigmoid": lambda torch, z, out: torch.sigmoid(z, out=out)}


def plan(graph):
    """{layer name: (its activation, (top, bottom, left, right))} for each layer
    whose one reader is a convolution that pads it unevenly."""
    readers = {}
    for node in graph.nodes:
        for src in node.inputs:
            readers[src] = readers.get(src, 0) + 1
    found = {}
    for node in graph.nodes:
        if node.kind != "conv" or is_1d(node.p):
            continue
        src, p = node.inputs[0], node.p
        h, w = graph.shapes[src][:2]
        (sh, sw), s = span(p), p["stride"]
        (top, bottom), (left, right) = pads(h, sh, s, p["padding"]), pads(w, sw, s, p["padding"])
        even = top == bottom and left == right
        act = None if src in graph.inputs else graph.activation(src)
        if not even and act in INTO and readers[src] == 1 and src not in graph.output_nodes:
            found[src] = (act, (top, bottom, left, right))
    return found


def write(torch, act, z, around):
    """act(z) inside a zero border (top, bottom, left, right) of z's rows and columns."""
    top, bottom, left, right = around
    n, h, w, c = z.shape
    out = z.new_empty((n, h + top + bottom, w + left + right, c))
    out[:, :top] = 0
    out[:, top + h:] = 0
    out[:, top:top + h, :left] = 0
    out[:, top:top + h, left + w:] = 0
    INTO[act](torch, z, out[:, top:top + h, left:left + w])
    return out
