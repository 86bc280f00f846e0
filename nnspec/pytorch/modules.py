"""The torch engine's network, built from the compiled graph with PyTorch's own
kernels: the function each layer computes is nnspec's (engine/layers/), and
tests/test_torch_engine.py holds every kind to the numpy engine in float64.

Values between layers keep nnspec's layout, channels last (NHWC), as views:
a convolution reads x.permute(0, 3, 1, 2), which over NHWC memory is an NCHW
tensor in PyTorch's channels_last format, and its output (channels_last, as
oneDNN and cuDNN write it for such an input) is viewed back the same way, so
a chain of convolutions, poolings and batch norms runs channels_last with no
copy between them, and a dense layer after them flattens in nnspec's (h, w, c)
order for free. Recurrent layers are PyTorch's fused ones (torch.lstm,
torch.gru, torch.rnn_tanh: oneDNN's LSTM on a CPU in float32, cuDNN on a GPU)
over nnspec's own W, U, b and rb, whose layouts are PyTorch's transposed (same
gate order, lstm i f g o, gru r z n; gru's rb is PyTorch's b_hh, the others
take zeros there). Attention is scaled_dot_product_attention. The parameters
are the tensors the engine hands in (views of the model's own arrays on a
CPU), so gradients land in nnspec's layout and nothing is mapped back.

export/torch_source.py stays the readable module a person exports; this one
is built for speed and never written out. Imported only once torch is known
to be installed (steps.py asks first).
"""
import warnings

import torch
import torch.nn.functional as F

from ..lang.masks import READS, follow
from ..lang.kinds import KINDS
from ..lang.kinds.conv import is_1d, pads, span
from ..lang.kinds.dense import per_step
from ..lang.kinds.pool import as_image, padding, stride
from . import masked, padded
from .norms import _nchw, _nhwc, batchnorm, layernorm
from .losses import activation


def _affine(x, W, b):
    """x @ W + b over the last axis, one addmm (its gradients come out in W's own
    layout, where F.linear's would be transposed and copied)."""
    rows = x.reshape(-1, x.shape[-1])
    y = rows.mm(W) if b is None else torch.addmm(b, rows, W)
    return y.reshape(x.shape[:-1] + (W.shape[1],))


def dense(node, in_shape, w, net):
    W, b = w["W"], w.get("b")
    if per_step(node.p, in_shape):
        return lambda x: _affine(x, W, b)
    return lambda x: _affine(x.reshape(len(x), -1), W, b)


def conv1d(p, in_shape, W, b):
    """Over (batch, time, features) as conv1d's (batch, features, time); W (k, c, f) as (f, c, k)."""
    s, d = p["stride"], p["dilation"]
    pad = pads(in_shape[0], span(p)[0], s, p["padding"])
    return lambda x: F.conv1d(F.pad(x.transpose(1, 2), pad), W.permute(2, 1, 0), b, s, 0,
                              d).transpose(1, 2)


def conv(node, in_shape, w, net):
    p, (W, b) = node.p, (w["W"], w.get("b"))
    if is_1d(p):
        return conv1d(p, in_shape, W, b)
    (sh, sw), s, d = span(p), p["stride"], p["dilation"]
    top, bottom = pads(in_shape[0], sh, s, p["padding"])
    left, right = pads(in_shape[1], sw, s, p["padding"])
    even = top == bottom and left == right  # else TensorFlow's 'same': one more after

    padded = (in_shape[0] + top + bottom, in_shape[1] + left + right)

    def forward(x):
        # padded as NHWC, so that it stays channels_last; at predict the layer
        # before may have written x padded already (padded.py)
        if not even and tuple(x.shape[1:3]) != padded:
            x = F.pad(x, (0, 0, left, right, top, bottom))
        # W (kh, kw, c, f) read as PyTorch's (f, c, kh, kw)
        return _nhwc(F.conv2d(_nchw(x), W.permute(3, 2, 0, 1), b, s, (top, left) if even else 0,
                              d))
    return forward


def pool(node, in_shape, w, net):
    """max_pool2d / avg_pool2d over an image as (batch, c, h, w); over a sequence,
    max_pool1d / avg_pool1d over (batch, features, time)."""
    (top, bottom), (left, right) = padding(node.p, in_shape)
    p, _ = as_image(node.p, in_shape)  # K is KxK on an image, Kx1 over time
    if len(in_shape) == 2:
        window, step, pad = p["window"][0], stride(p)[0], top
        around = (0, 0, top, bottom)  # F.pad's order, as (batch, time, features)
        first = last = lambda x: x.transpose(1, 2)
        maximum, mean = F.max_pool1d, F.avg_pool1d
    else:
        window, step, pad = tuple(p["window"]), tuple(stride(p)), (top, left)
        around = (0, 0, left, right, top, bottom)  # as NHWC
        first, last, maximum, mean = _nchw, _nhwc, F.max_pool2d, F.avg_pool2d
    # PyTorch pads evenly, at most half a window: the rest is padded here
    (kh, kw) = p["window"]
    even = top == bottom and left == right and 2 * top <= kh and 2 * left <= kw
    pad = pad if even else 0
    if node.kind == "maxpool":  # padding never wins a max
        def forward(x):
            x = x if even else F.pad(x, around, value=float("-inf"))
            return last(maximum(first(x), window, step, pad))
        return forward

    def average(x):  # over the input's values only: padding counts for nothing
        if even:
            return last(mean(first(x), window, step, pad, count_include_pad=False))
        ones = F.pad(torch.ones_like(x[:1, ..., :1]), around)
        return last(mean(first(F.pad(x, around)), window, step) / mean(first(ones), window, step))
    return average


def dropout(node, in_shape, w, net):
    rate = node.p["rate"]

    def forward(x):  # the engine seeds net.generator each step (steps.py)
        if not net.training or rate == 0:
            return x
        keep = 1 - rate
        draw = torch.rand(x.shape, generator=net.generator, device=x.device, dtype=x.dtype)
        return x * ((draw < keep) / keep)
    return forward


def embedding(node, in_shape, w, net):
    W = w["W"]  # ids arrive as floats; the engine checked they are whole and in range
    return lambda x: F.embedding(torch.round(x).long(), W)


def positional(node, in_shape, w, net):
    P = w["P"]
    return lambda x: x + P


RECURRENT = {"rnn": torch.rnn_tanh, "lstm": torch.lstm, "gru": torch.gru}


def recurrent(node, in_shape, w, net):
    p, kind = node.p, node.kind
    cell, units, both = RECURRENT[kind], p["units"], p["bidirectional"]
    b = w.get("b")
    # PyTorch adds two biases; nnspec's second is gru's rb, the others' is zero
    zeros = {s: torch.zeros_like(w["b" + s]).detach() for s in ("", "_r") if "b" + s in w}
    directions = ("", "_r") if both else ("",)  # forward's, and PyTorch's *_reverse

    def params():  # views of nnspec's W (features, k units) and U as PyTorch's (k units, ...)
        return [t for s in directions for t in [w["W" + s].t(), w["U" + s].t()] + (
            [] if b is None else [w["b" + s], w.get("rb" + s, zeros.get(s))])]

    def run(*data):
        """Every state over (batch, time, features), or over packed data and its batch
        sizes (masked.recurrent), in the layout of its input: both directions'
        concatenated, forward's first, where bidirectional."""
        h0 = data[0].new_zeros(2 if both else 1,
                               len(data[0]) if len(data) == 1 else int(data[1][0]), units)
        args = (*data, (h0, h0) if kind == "lstm" else h0, params(), b is not None, 1, 0.0,
                net.training, both) + ((True,) if len(data) == 1 else ())  # batch first
        if not data[0].is_cuda:
            return cell(*args)[0]
        with warnings.catch_warnings():  # cuDNN copies weights not in one buffer, and says so
            warnings.filterwarnings("ignore", "RNN module weights are not part")
            return cell(*args)[0]

    def forward(x, mask=None):
        if mask is not None:
            return masked.recurrent(run, x, mask, p["return_sequences"], units if both else None)
        out = run(x)
        if p["return_sequences"]:
            return out  # step t: forward's state at t, then backward's, as nnspec's
        if both:  # the backward direction's last state is the one after step 0
            return torch.cat([out[:, -1, :units], out[:, 0, units:]], dim=1)
        return out[:, -1]
    return forward


def attention(node, in_shape, w, net):
    heads, causal = node.p["heads"], node.p["causal"]
    W, b, Wo, bo = w["W"], w.get("b"), w["Wo"], w.get("bo")

    def forward(x, mask=None):
        n, t, d = x.shape
        # q, k, v side by side in W's columns, each split into heads: (n, heads, t, d / heads)
        q, k, v = _affine(x, W, b).view(n, t, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
        if mask is None:
            o = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        else:
            o = masked.attention(q, k, v, mask, causal)
        return _affine(o.transpose(1, 2).reshape(n, t, d), Wo, bo)
    return forward


def upsample(node, in_shape, w, net):
    sh, sw = node.p["size"]

    def forward(x):  # each pixel becomes an sh x sw block: one copy of a broadcast view
        n, h, wd, c = x.shape
        return x[:, :, None, :, None].expand(n, h, sh, wd, sw, c).reshape(n, h * sh, wd * sw, c)
    return forward


def _reshape(node, in_shape, w, net):
    shape = tuple(net.shapes[node.name])
    return lambda x: x.reshape((len(x),) + shape)


def _identity(node, in_shape, w, net):  # an activation layer: the activation is the step's
    return lambda x: x


BUILDERS = {"dense": dense, "conv": conv, "maxpool": pool, "avgpool": pool,
            "batchnorm": batchnorm, "layernorm": layernorm, "dropout": dropout,
            "embedding": embedding, "positional": positional, "rnn": recurrent,
            "lstm": recurrent, "gru": recurrent, "attention": attention,
            "upsample": upsample, "flatten": _reshape, "reshape": _reshape,
            "globalmaxpool": masked.global_pool(torch.amax, masked.max_pool),
            "globalavgpool": masked.global_pool(torch.mean, masked.mean_pool),
            "add": lambda node, in_shape, w, net: lambda *xs: sum(xs[1:], xs[0]),
            "concat": lambda node, in_shape, w, net: lambda *xs: torch.cat(xs, dim=-1)}
ACTIVATION_KINDS = ("linear", "relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid",
                    "softplus", "silu", "softmax")
BUILDERS.update(dict.fromkeys(ACTIVATION_KINDS, _identity))


class Net(torch.nn.Module):
    """forward(x, logits) over the graph's layers in order. tensors: {nnspec
    parameter name: tensor}, trained ones as nn.Parameter (what DDP and autograd
    see), running statistics as buffers; the module uses them as given."""

    def __init__(self, graph, tensors):
        super().__init__()
        self.shapes, self.generator = graph.shapes, None  # dropout's, set per step
        self.frozen = graph.frozen  # their batch norms use their running statistics
        for i, (name, tensor) in enumerate(tensors.items()):
            if isinstance(tensor, torch.nn.Parameter):
                self.register_parameter(f"p{i}", tensor)
            else:
                self.register_buffer(f"p{i}", tensor)
        self.input = graph.input_name
        self.masked = graph.masked  # {node: whether it carries a mask}, or None
        self.outputs = [(o.name, o.node) for o in graph.outputs]
        self.heads = heads = set(graph.output_nodes)
        self.layers, last_read, self.nodes = [], {}, {}
        for i, node in enumerate(graph.nodes):
            if node.kind not in BUILDERS:
                raise ValueError(f"the torch engine has no layer {node.kind}")
            in_shape = [graph.shapes[s] for s in node.inputs] if KINDS[node.kind].merge \
                else graph.shapes[node.inputs[0]]
            w = {short: tensors[full] for short, full in graph.keys[node.name]}
            act = graph.activation(node.name)
            layer = BUILDERS[node.kind](node, in_shape, w, self)
            self.layers.append((node.name, node.inputs, layer,
                                None if act == "linear" else activation(torch, act)))
            last_read.update(dict.fromkeys(node.inputs, i))
            self.nodes[node.name] = node
        self.reads = {n for n, node in self.nodes.items() if node.kind in READS}
        self.prepad = padded.plan(graph)  # at predict, written into a conv's padding
        # an output's values before its head, where no later layer reads it
        self.bare = heads - set(last_read)
        # values no later layer reads are let go at once (inference holds one or two)
        self.done = [[v for v, j in last_read.items() if j == i and v not in heads]
                     for i in range(len(self.layers))]

    def forward(self, x, logits=False):
        """x: (batch, *input shape), as the graph takes it, or {input: tensor} for
        several inputs -> the output, or {output name: tensor} for several;
        logits=True: the output layers' values before their activation (the
        head); a later layer reading an output still reads it activated."""
        values = dict(x) if isinstance(x, dict) else {self.input: x}
        before = {}
        masks = {} if self.masked else None
        for (name, inputs, layer, act), done in zip(self.layers, self.done):
            xs = [values[s] for s in inputs]  # a layer that reads a mask takes it as mask=
            seen = None if masks is None else follow(self.nodes[name], self.masked, xs[0], masks)
            z = layer(*xs, mask=seen) if name in self.reads and seen is not None else layer(*xs)
            if logits and name in self.heads:
                before[name] = z
            if name in self.prepad and not torch.is_grad_enabled():
                how, around = self.prepad[name]
                z = padded.write(torch, how, z, around)
            elif act is not None and not (logits and name in self.bare):
                z = act(z)
            values[name] = z
            for v in done:
                del values[v]
        found = {**values, **before} if logits else values
        if len(self.outputs) == 1:
            return found[self.outputs[0][1]]
        return {name: found[node] for name, node in self.outputs}
