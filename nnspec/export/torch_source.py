"""model.py for a trained model: a readable torch.nn.Module whose forward reads
like the spec, one attribute per layer, one line per layer. Its small layer
classes (the prelude) keep nnspec's layouts, channels last and W as nnspec
stores it, so every weight maps one to one (torch.py writes and reads them)."""
import math
import re

from ..engine.preprocess import FITTED
from ..errors import NNSpecError
from ..lang.kinds.conv import is_1d, pads, span
from ..lang.kinds.dense import per_step
from ..lang.kinds.pool import as_image, padding, stride
from ..lang.masks import READS, follow
from ..lang.printer import format_node
from .torch_prelude import PRELUDE


def attribute(name):
    """A layer's name as a Python attribute: blocks' '/' becomes '__'."""
    return re.sub(r"\W", "_", name.replace("/", "__"))


def _module(node, p, graph, mask=None):
    """(constructor text or None, forward expression over its input names); mask:
    the expression of the mask it sees, or None."""
    kind, ins = node.kind, [attribute(s) for s in node.inputs]
    in_shape = graph.shapes[node.inputs[0]]
    bias = p.get("bias", True)
    x = ins[0]
    if kind == "dense":
        if per_step(p, in_shape):
            return f"Dense({in_shape[-1]}, {p['units']}, per_step=True, bias={bias})", None
        return f"Dense({math.prod(in_shape)}, {p['units']}, bias={bias})", None
    if kind == "conv" and is_1d(p):
        (k, f), s = p["kernel"], p["stride"]
        before, after = pads(in_shape[0], span(p)[0], s, p["padding"])
        return (f"Conv1d({k}, {in_shape[-1]}, {f}, stride={s}, dilation={p['dilation']}, "
                f"pads=({before}, {after}), bias={bias})"), None
    if kind == "conv":
        (sh, sw), s = span(p), p["stride"]
        t, b = pads(in_shape[0], sh, s, p["padding"])
        left, right = pads(in_shape[1], sw, s, p["padding"])
        kh, kw, f = p["kernel"]
        return (f"Conv({kh}, {kw}, {in_shape[-1]}, {f}, stride={s}, dilation={p['dilation']}, "
                f"pads=({t}, {b}, {left}, {right}), bias={bias})"), None
    if kind in ("maxpool", "avgpool"):
        (top, bottom), (left, right) = padding(p, in_shape)
        p, _ = as_image(p, in_shape)  # K is KxK on an image, Kx1 over time
        if len(in_shape) == 2:
            return (f"Pool1d({kind[:3]!r}, {p['window'][0]}, {stride(p)[0]}, "
                    f"pads=({top}, {bottom}))"), None
        return (f"Pool({kind[:3]!r}, {tuple(p['window'])}, {tuple(stride(p))}, "
                f"pads=({top}, {bottom}, {left}, {right}))"), None
    if kind in ("batchnorm", "layernorm"):
        if kind == "batchnorm":
            return f"Norm({in_shape[-1]}, {p['eps']!r}, running=True, " \
                   f"momentum={p['momentum']!r})", None
        return f"Norm({in_shape[-1]}, {p['eps']!r}, running=False)", None
    if kind == "dropout":
        return f"Dropout({p['rate']!r})", None
    if kind == "embedding":
        return f"Embedding({p['table'][0]}, {p['table'][1]})", None
    if kind == "positional":
        return f"Positional({in_shape[0]}, {in_shape[1]})", None
    if kind in ("rnn", "lstm", "gru"):
        return (f"Recurrent({kind!r}, {in_shape[-1]}, {p['units']}, "
                f"sequences={p['return_sequences']}, bias={bias}"
                + (", bidirectional=True)" if p["bidirectional"] else ")")), None
    if kind == "attention":
        return f"Attention({in_shape[-1]}, {p['heads']}, causal={p['causal']}, bias={bias})", None
    out = graph.shapes[node.name]
    axes = tuple(range(1, len(in_shape)))
    expressions = {  # made only for the kind at hand
        "globalmaxpool": lambda: f"masked_max({x}, {mask})" if mask else f"{x}.amax(dim={axes})",
        "globalavgpool": lambda: f"masked_mean({x}, {mask})" if mask else f"{x}.mean(dim={axes})",
        "flatten": lambda: f"{x}.reshape(len({x}), -1)",
        "reshape": lambda: f"{x}.reshape(len({x}), {', '.join(map(str, out))})",
        "upsample": lambda: f"upsample({x}, {p['size'][0]}, {p['size'][1]})",
        "add": lambda: " + ".join(ins),
        "concat": lambda: f"torch.cat([{', '.join(ins)}], dim=-1)",
    }
    if kind in expressions:
        return None, expressions[kind]()
    if kind in ACTIVATION_KINDS:
        return None, x
    raise NNSpecError(f"{node.name}: {kind} cannot be exported to PyTorch")


# each activation as the forward line writes it around its layer's output
_ACTIVATE = {"linear": "{}", "relu": "torch.relu({})", "tanh": "torch.tanh({})",
             "sigmoid": "torch.sigmoid({})", "softmax": "torch.softmax({}, -1)",
             "leaky_relu": "F.leaky_relu({}, 0.01)", "elu": "F.elu({})", "gelu": "gelu({})",
             "softplus": "F.softplus({})", "silu": "F.silu({})"}
ACTIVATION_KINDS = ("linear", "relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid", "softplus",
                    "silu", "softmax")


def source(model, engine=False):
    """The text of model.py for this model. engine=True: for nnspec's PyTorch engine,
    which prepares inputs itself (no preprocessing in forward). forward takes the
    inputs by name (`input` for an unnamed one) and returns the output, or a dict
    of the outputs by name for several."""
    graph = model.graph
    title = f"nnspec network, {len(graph.nodes)} layers"
    shapes = "; ".join(f"{n} (batch, {', '.join(map(str, s))})" if len(graph.inputs) > 1
                       else ", ".join(map(str, s)) for n, s in graph.input_shapes.items())
    lines = [PRELUDE.format(title=title, shape=shapes),
             "", "class Net(nn.Module):", "    def __init__(self):", "        super().__init__()"]
    args = ", ".join(attribute(name) for name in graph.inputs)
    forward = ["", f"    def forward(self, {args}, logits=False):",
               "        \"\"\"logits=True: the output layers' values before their activation.\"\"\""]
    for name in graph.inputs:
        pre, arg = model.preprocessing[name], attribute(name)
        if pre["kind"] in FITTED and not engine:  # the bundle's preprocessing: raw inputs
            suffix = "" if len(graph.inputs) == 1 else f"_{arg}"
            for key in ("scale", "offset"):
                lines.append(f"        self.register_buffer('{key}{suffix}', "
                             f"torch.tensor({pre[key]!r}), persistent=False)")
            forward.append(f"        {arg} = {arg} * self.scale{suffix} + self.offset{suffix}  "
                           f"# {pre['kind']} scaling, fitted on the training split")
    masks = {}  # each masked node's mask, as an expression (lang/masks.py)
    for node in graph.nodes:
        name = attribute(node.name)
        seen = graph.masked and follow(node, graph.masked, attribute(node.inputs[0]), masks,
                                       lambda a, b: f"{a} & {b}", lambda x: f"{x} != 0")
        if graph.masked and node.kind == "embedding" and node.p.get("mask_zero"):
            forward.append(f"        {name}_mask = {masks[node.name]}  # id 0 is padding")
            masks[node.name] = f"{name}_mask"
        seen = seen if node.kind in READS else None
        made, expression = _module(node, node.p, graph, seen)
        if made is not None:
            lines.append(f"        self.{name} = {made}")
            expression = f"self.{name}({attribute(node.inputs[0])}" + \
                (f", mask={seen})" if seen else ")")
        activate = _ACTIVATE[graph.activation(node.name)]
        if node.name in graph.output_nodes:  # its values before the activation, and after
            forward.append(f"        {name}_z = {expression}  # {format_node(node)}")
            forward.append(f"        {name} = {activate.format(name + '_z')}")
        else:
            forward.append(f"        {name} = {activate.format(expression)}  # {format_node(node)}")
    if len(graph.outputs) == 1:
        name = attribute(graph.output)
        forward.append(f"        return {name}_z if logits else {name}")
    else:
        pairs = ", ".join(f"{o.name!r}: {attribute(o.node)}_z if logits else "
                          f"{attribute(o.node)}" for o in graph.outputs)
        forward.append(f"        return {{{pairs}}}")
    return "\n".join(lines + forward) + "\n"
