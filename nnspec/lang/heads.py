"""What an output is, given its loss: one rule for every (loss, output activation) pair.

    loss                   the output layer's activation     the output is
    cross_entropy          softmax                           probabilities
                           linear                            logits: softmax is fused into the
                                                             loss and applied by predict
                           any other                         an error at the output's line
    binary_cross_entropy   sigmoid                           probabilities (one per output)
                           linear                            logits: sigmoid is fused into the
                                                             loss and applied by predict
                           softmax, two or more outputs      probabilities
                           any other                         an error at the output's line
    mse, quadratic,        any                               values
    mae, huber
    any loss               softmax over one output           an error: it is always 1

A linear output whose values are a softmax or sigmoid passed on unchanged (by
dropout, flatten, a pooling or a merge) is not logits: under cross_entropy or
binary_cross_entropy it is an error that says to put the activation last.

The rule reads names only (no numpy), so `nnspec compile` and an editor can
report it; the engine applies the head the rule returns (engine/graph.py).
"""
from .kinds import KINDS

PROBABILITY_LOSSES = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}
VALUE_LOSSES = ("mse", "quadratic", "mae", "huber")
LOSSES = tuple(PROBABILITY_LOSSES) + VALUE_LOSSES


class HeadProblem(ValueError):
    """An output that its loss cannot train; the message says what to write."""


def default_loss(activation, shape):
    """The loss an output of `shape` implies when the spec names none:
    binary_cross_entropy after a sigmoid; cross_entropy after a softmax over two
    or more outputs, and for a linear vector of them (logits); else mse (one
    value, values such as a relu's, or a linear image or sequence)."""
    width = shape[-1]
    if activation == "sigmoid":
        return "binary_cross_entropy"
    if width > 1 and (activation == "softmax" or (activation == "linear" and len(shape) == 1)):
        return "cross_entropy"
    return "mse"


def head(loss, activation, width, passed_on=None):
    """The activation the model applies to the output layer's values: as written,
    or softmax / sigmoid for logits. Raises HeadProblem for a pair that cannot learn.
    passed_on: (layer name, activation) of a softmax or sigmoid that a weightless
    layer passes on to a linear output, or None."""
    if activation == "softmax" and width == 1:
        raise HeadProblem("softmax over one output is always 1, so nothing can be learned; "
                          "for a yes/no output write sigmoid (binary_cross_entropy), for a "
                          "value no activation (mse)")
    fused = PROBABILITY_LOSSES.get(loss)
    if fused is None:
        return activation
    if loss == "cross_entropy" and width == 1:
        raise HeadProblem("cross_entropy needs an output per class; for one output write "
                          "sigmoid and loss = binary_cross_entropy, for a value loss = mse")
    if activation == "linear":
        if passed_on is not None:
            layer, act = passed_on
            raise HeadProblem(f"this output passes on {layer}'s {act} unchanged, but {loss} "
                              f"applies {fused} itself at the output: end the network with "
                              f"-> {act}, or remove {act} from {layer} so the output is logits")
        return fused  # logits
    if activation == fused or (loss == "binary_cross_entropy" and activation == "softmax"):
        return activation
    if loss == "cross_entropy" and activation == "sigmoid":
        raise HeadProblem("cross_entropy needs a softmax output (or a linear one: logits); "
                          "for independent yes/no outputs write loss = binary_cross_entropy")
    raise HeadProblem(f"{loss} needs probabilities, but this output's activation is "
                      f"{activation}: write {fused} (or no activation, for logits), or a "
                      f"loss for values (mse)")


# kinds that hand their input's values on without weights or an activation of
# their own: a softmax before them is still a softmax after them
_PASSING = {"dropout", "flatten", "reshape", "maxpool", "avgpool", "globalmaxpool",
            "globalavgpool", "upsample", "add", "concat", "linear"}


def passed_on(network, output):
    """(layer, activation) of a softmax or sigmoid that reaches `output` through
    layers that only pass values on, or None."""
    by_name = {n.name: n for n in network.nodes}
    todo, seen = [output], set()
    while todo:
        node = by_name[todo.pop()]
        if node.name in seen or node.kind == "input":
            continue
        seen.add(node.name)
        act = node.p.get("activation", "linear")
        if node.name != output and act in ("softmax", "sigmoid"):
            return node.name, act
        if act == "linear" and node.kind in _PASSING and KINDS[node.kind].weights is None:
            todo.extend(node.inputs)
    return None


def activation_of(network, name):
    """A layer's activation as written (linear where it has none)."""
    return next(n for n in network.nodes if n.name == name).p.get("activation", "linear")
