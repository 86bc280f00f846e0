"""IR -> an executable graph: forward in order, backward reversed.

Parameters live outside the graph in one flat dict keyed `<layer>.<W|b|...>`;
the graph itself holds no arrays, so the same graph serves training,
inference and gradient checks. Backward walks the forward tape in reverse.
The speed work that changes how the loop runs, not what it computes, is
decided elsewhere: which activation a node applies and which input rows it
reads (passes.py), how many samples a predict pass takes (staging.py), and
whether a training step is split among threads (parallel.py).
"""
from typing import NamedTuple

import numpy as np

from ..errors import DataError, ShapeError
from ..lang import masks as masking
from ..lang.kinds import KINDS, ROLES
from ..lang.printer import describe
from . import activations, losses, passes
from .layers import REGISTRY, flops
from .layers.base import Mode


class Graph:
    def __init__(self, network, shapes, dtype="float32", heads=None, source="<spec>"):
        """heads: {output: the activation it applies} (see use_heads); source: the
        spec's file, for messages about data a layer cannot take."""
        self.network = network
        self.source = source
        self.shapes = shapes
        self.dtype = np.dtype(dtype)
        self.nodes = tuple(n for n in network.nodes if n.kind != "input")
        self.params = {n.name: n.p for n in self.nodes}
        # inputs and outputs by name; the first of each for a network of one
        self.inputs = tuple(n.name for n in network.inputs)
        self.input_shapes = {name: shapes[name] for name in self.inputs}
        self.input_name, self.input_shape = self.inputs[0], shapes[self.inputs[0]]
        self.outputs = network.outputs  # ir.Outputs
        self.output_nodes = tuple(o.node for o in self.outputs)
        self.output, self.output_shape = self.output_nodes[0], shapes[self.output_nodes[0]]
        self.acts = passes.activations(self.nodes, self.params, self.output_nodes)
        self.use_heads(heads or {})
        self.crops = passes.crops(self.nodes, self.params, shapes, self.output_nodes)
        # reused arrays (Mode.buffers): one set for training steps, one for predict,
        # and ("train", r) for the r-th part of a step split among threads
        self.buffers = {"train": {}, "predict": {}}
        self.sample_flops = sum(flops(n, shapes) for n in self.nodes)  # forward
        self.couples_batch = any(REGISTRY[n.kind].couples_batch for n in self.nodes)
        # {node: whether its output carries a mask} where an embedding has
        # mask_zero=true, else None: then forward computes no masks at all
        self.masked = masking.carriers(network) if masking.any_mask(network) else None
        # every parameter as its layer declares it, before any array exists:
        # {full name: (shape, role)}, in node order; and each node's (short, full) names
        self.declared, self.keys = {}, {}
        for node in self.nodes:
            keys = ()  # one empty tuple for every weightless layer
            for short, shape, role in self._declare(node):
                full = f"{node.name}.{short}"
                self.declared[full] = (tuple(shape), role)
                keys += ((short, full),)
            self.keys[node.name] = keys
        # the parameters an optimizer may train (their roles'), and of those the ones
        # it does: not a frozen layer's (freeze)
        self.trained = tuple(k for k, (_, role) in self.declared.items() if ROLES[role].trained)
        self.roles = {k: role for k, (_, role) in self.declared.items()}
        self.freeze(n.name for n in self.nodes if self.params[n.name].get("trainable") is False)

    def freeze(self, names):
        """Freeze exactly these layers (node names with weights): their weights get no
        gradient (so no update, penalty or optimizer state), and they compute as at
        inference (a batch norm by its running statistics, which stay), as Keras'
        trainable = False does. Backward skips what nothing trainable depends on."""
        self.frozen = frozenset(names)
        self.trainable = tuple(k for k in self.trained if k.rpartition(".")[0] not in self.frozen)
        # whether a node's output depends on a trained weight (its own or upstream):
        # only then does backward need its gradient
        self.learns = {}
        for node in self.nodes:
            own = node.name not in self.frozen and any(
                ROLES[self.roles[full]].trained for _, full in self.keys[node.name])
            self.learns[node.name] = own or any(self.learns.get(s, False) for s in node.inputs)

    def use_heads(self, heads):
        """heads: {output: the activation it applies} (lang/heads.py): as written, or
        softmax or sigmoid on an output its loss reads as logits."""
        for name, activation in heads.items():
            self.acts[name] = activation
        self.output_activation = self.acts[self.output]

    def activation(self, name):
        """The activation a layer applies, as an export writes it: as written, and
        the head on an output (passes.py's relu moves are the engine's own)."""
        return self.acts[name] if name in self.output_nodes else \
            self.params[name].get("activation", "linear")

    def where(self, node):
        """FILE:LINE:COL of a node, for messages about data it is given."""
        loc = node.loc
        return f"{self.source}:{loc.line}:{loc.column}" if loc else self.source

    def _declare(self, node):
        kind = KINDS[node.kind]
        if kind.weights is None:
            return ()
        return kind.weights(self.params[node.name], self._in_shape(node))

    def _in_shape(self, node):
        return [self.shapes[s] for s in node.inputs] if KINDS[node.kind].merge else \
            self.shapes[node.inputs[0]]

    def init(self, rng):
        """Fresh weights: {'conv1.W': array, ...}, drawn in node order from rng."""
        weights = {}
        for node in self.nodes:
            layer = REGISTRY[node.kind]
            if layer.init is None:
                continue
            declared = {short: self.declared[full][0] for short, full in self.keys[node.name]}
            try:
                own = layer.init(self.params[node.name], declared, rng, self.dtype)
            except MemoryError as e:  # a spec can ask for any size; say which layer
                loc = node.loc
                raise ShapeError(f"{node.name}: {describe(node)} has more weights than fit in "
                                 f"memory ({e})", loc.line if loc else None,
                                 loc.column if loc else None) from None
            for short, full in self.keys[node.name]:
                weights[full] = own.pop(short)
                assert weights[full].shape == declared[short], f"{full}: not as declared"
            assert not own, f"{node.kind}.init made weights it does not declare: {list(own)}"
        return weights

    def _own(self, weights, name):
        """The node's weights by short name ('W', 'b'), as the layer declares them."""
        return {short: weights[full] for short, full in self.keys[name]}

    def forward(self, weights, x, mode=None, start=0, stop=None):
        """x: (batch, *input_shape), or {input: array} for several inputs -> (output,
        tape for backward): the output's array, or {output name: array} for
        several. mode: a Mode; None is inference, True a training pass with fresh
        random numbers. start, stop: run only nodes[start:stop], from x, the
        output of nodes[start - 1] (predict's stages); the output is then
        nodes[stop - 1]'s."""
        if not isinstance(mode, Mode):
            mode = Mode(bool(mode))
        if isinstance(x, dict):
            values = dict(x)
        else:
            values = {self.nodes[start - 1].name if start else self.input_name: x}
        # each masked node's (batch, time) mask, computed beside its value; a
        # staged pass would need the masks before `start` (staging.py never cuts one)
        assert not (self.masked and start), "a masked network is not run in stages"
        masks = {} if self.masked else None
        tape = []
        for node in self.nodes[start:stop]:
            p = self.params[node.name]
            w = self._own(weights, node.name)
            layer = REGISTRY[node.kind]
            merge = KINDS[node.kind].merge
            x = [values[s] for s in node.inputs] if merge else values[node.inputs[0]]
            if node.name in self.crops:
                rows, cols = self.crops[node.name]
                x = x[:, :rows, :cols]
            mode.node = node.name
            if masks is not None:
                mode.mask = masking.follow(node, self.masked, x[0] if merge else x, masks)
            # a frozen layer computes as at inference (mode.frozen: batch norm by its
            # running statistics), and keeps what backward needs only where a gradient
            # must pass through it to a layer that learns (else, as at inference, none:
            # a recurrent layer's last state alone)
            training = mode.training
            mode.frozen = node.name in self.frozen
            mode.training = training and (not mode.frozen or self.learns[node.name])
            try:
                z, cache = layer.forward(p, w, x, mode)
            except DataError as e:  # data a layer cannot take (token ids): say which layer
                raise DataError(f"{self.where(node)}: {node.name} ({describe(node)}): {e}") \
                    from None
            finally:
                mode.training, mode.frozen = training, False
            act = self.acts[node.name]
            if act == "linear":
                a = z
            elif passes.owns_output(node.kind) and act in activations.IN_PLACE:
                a = activations.forward(act, z, z)  # nothing else holds z: overwrite it
            else:
                a = activations.forward(act, z, mode.empty("a", z.shape, z.dtype))
            values[node.name] = a
            tape.append(Taped(node, w, cache, z, a, mode))
        if stop is not None:
            return values[self.nodes[stop - 1].name], tape
        if len(self.outputs) == 1:
            return values[self.output], tape
        return {o.name: values[o.node] for o in self.outputs}, tape

    def backward(self, tape, d_out, d_is_preactivation=False, input_grad=False):
        """Gradients of every parameter (and of the inputs if asked) from d(output):
        an array, or {output name: array} for several outputs; d_is_preactivation
        (likewise one or a dict) where a fused loss gave it before the output's
        activation. An output that also feeds later layers gets the sum of both.
        -> (grads, d input: an array, {input: array} for several, or None)."""
        grads, post, pre = {}, {}, {}
        many = isinstance(d_out, dict)
        for o in self.outputs:
            d = d_out[o.name] if many else d_out
            is_pre = d_is_preactivation[o.name] if many else d_is_preactivation
            (pre if is_pre else post)[o.node] = d
        for node, w, cache, z, a, mode in reversed(tape):
            mode.node = node.name
            d = post.pop(node.name, None)
            act = self.acts[node.name]
            if d is not None and act != "linear":
                d = activations.backward(act, z, a, d, mode.empty("da", d.shape, d.dtype))
            fused = pre.pop(node.name, None)
            if fused is not None:
                d = fused if d is None else np.add(d, fused, out=mode.empty("d+", d.shape,
                                                                             d.dtype))
            if d is None or not (input_grad or self.learns[node.name]):
                continue  # nothing after it reached it, or nothing here or before it learns
            layer = REGISTRY[node.kind]
            need_dx = input_grad or any(self.learns.get(src, False) for src in node.inputs)
            dx, g = layer.backward(self.params[node.name], w, cache, d, need_dx)
            if node.name in self.frozen:
                g = {}
            if dx is not None and node.name in self.crops:  # the rows it did not read: zero
                rows, cols = self.crops[node.name]
                full = mode.zeros("uncropped", (len(dx),) + self.shapes[node.inputs[0]], dx.dtype)
                full[:, :rows, :cols] = dx
                dx = full
            for key, value in g.items():
                grads[f"{node.name}.{key}"] = value
            for src, dxi in zip(node.inputs, dx if KINDS[node.kind].merge else [dx]):
                if dxi is None or not (input_grad or self.learns.get(src, True)):
                    continue
                if src in post:  # a layer read by several gets the sum of their
                    # gradients, in a buffer of this pass (not over either: a layer
                    # may hand the same array to several inputs, as add does)
                    dxi = np.add(post[src], dxi, out=mode.empty(f"sum {src}", dxi.shape,
                                                                 dxi.dtype))
                post[src] = dxi
        if len(self.inputs) == 1:
            return grads, post.get(self.input_name)
        return grads, {name: post.get(name) for name in self.inputs}

    def loss_and_grads(self, weights, x, y, terms, mode=True, input_grad=False, share=1.0,
                       sample_weight=None):
        """One batch on this thread -> Result: the objective's data loss (each
        output's mean loss times its weight, summed), each output's, the outputs,
        the gradients and d input (or None). y: the output's targets, or {output
        name: targets}; terms: each output's losses.Term. `share` of a whole batch
        scales the gradients (a part of a step split among threads, parallel.py,
        whose losses are means over its own samples). sample_weight: (batch,)
        weights of the samples' losses (losses.sample_weights), or None."""
        if not isinstance(mode, Mode):
            mode = Mode(bool(mode))
        out, tape = self.forward(weights, x, mode)
        zs = {t.node.name: t.z for t in tape if t.node.name in self.output_nodes}
        many = len(self.outputs) > 1
        total, each, d_out, is_pre = 0.0, {}, {}, {}
        for term in terms:
            value, d, pre = losses.value_and_grad(
                term.loss, self.acts[term.node], zs[term.node], out[term.name] if many else out,
                y[term.name] if many else y, sample_weight)
            scale = term.weight * share
            if scale != 1.0:
                d = d * d.dtype.type(scale)
            total += term.weight * value
            each[term.name], d_out[term.name], is_pre[term.name] = value, d, pre
        if not many:
            d_out, is_pre = d_out[terms[0].name], is_pre[terms[0].name]
        grads, dx = self.backward(tape, d_out, is_pre, input_grad)
        return Result(total, each, out, grads, dx)


class Taped(NamedTuple):
    """One node's pass, as backward reads it back."""

    node: object
    w: dict
    cache: object
    z: object  # before the activation
    a: object  # after it
    mode: Mode


class Result(NamedTuple):
    """A batch's loss_and_grads."""

    value: float  # the objective's data loss: each output's weight times its mean loss
    each: dict  # {output name: its mean loss}
    out: object  # the output's array, or {output name: array}
    grads: dict
    dx: object
