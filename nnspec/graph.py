"""IR -> an executable graph: forward and backward as loops over the nodes.

Parameters live outside the graph in one flat dict keyed `<layer>.<W|b|...>`;
the graph itself holds no arrays, so the same graph serves training,
inference and gradient checks. Backward walks the forward tape in reverse.
"""
import math

import numpy as np

from . import activations, losses, parallel, summary
from .errors import ShapeError
from .layers import REGISTRY
from .layers.base import ROLES, Mode
from .printer import describe

# Inference splits a batch into chunks whose arrays fit in about this much
# memory: a pass over data still in the cache is faster than one over a large
# batch. On this project's 2-core VM (2 MB L2 per core, 32 MB L3), predicting
# 2048 images 12 to 48 at a time instead of 256 was 1.2x to 1.3x faster for
# the MNIST and deeper CNNs of benchmarks/vs_torch.py; 6 MB gives 32 and 12.
PREDICT_CACHE_BYTES = 6 << 20
# The most samples a pass takes unless the caller says otherwise. Networks with
# small samples (an MLP) are then bounded by this rather than by the cache: the
# benchmark's MLP predicted 1.08x to 1.13x faster 1024 at a time than 256.
PREDICT_BATCH = 1024


class Graph:
    def __init__(self, network, shapes, dtype="float32"):
        self.network = network
        self.shapes = shapes
        self.dtype = np.dtype(dtype)
        self.nodes = tuple(n for n in network.nodes if n.kind != "input")
        self.params = {n.name: n.p for n in self.nodes}
        self.input_name = network.input.name
        self.input_shape = shapes[self.input_name]
        self.output = network.outputs[0]
        self.output_shape = shapes[self.output]
        self.output_activation = self.params[self.output].get("activation", "linear")
        self.acts = _activations(self.nodes, self.params, self.output)
        self.crops = _crops(self.nodes, self.params, shapes, self.output)
        # reused arrays (Mode.buffers): one set for training steps, one for predict,
        # and ("train", r) for the r-th part of a step split among threads
        self.buffers = {"train": {}, "predict": {}}
        self.sample_bytes = None  # what one sample's predict pass holds in buffers
        self.node_bytes = None  # ... and each node's part of it
        self.sample_flops = sum(summary.flops(self, n) for n in self.nodes)  # forward
        self.couples_batch = any(REGISTRY[n.kind].couples_batch for n in self.nodes)
        # every parameter as its layer declares it, before any array exists:
        # {full name: (shape, role)}, in node order; and each node's (short, full) names
        self.declared, self.keys = {}, {}
        for node in self.nodes:
            self.keys[node.name] = []
            for short, shape, role in self._declare(node):
                full = f"{node.name}.{short}"
                self.declared[full] = (tuple(shape), role)
                self.keys[node.name].append((short, full))
        self.trainable = tuple(k for k, (_, role) in self.declared.items() if ROLES[role][2])
        self.roles = {k: role for k, (_, role) in self.declared.items()}

    def _declare(self, node):
        layer = REGISTRY[node.kind]
        if layer.weights is None:
            return ()
        return layer.weights(self.params[node.name], self._in_shape(node, layer))

    def _in_shape(self, node, layer):
        return [self.shapes[s] for s in node.inputs] if layer.merge else \
            self.shapes[node.inputs[0]]

    def init(self, rng):
        """Fresh weights: {'conv1.W': array, ...}, drawn in node order from rng."""
        weights = {}
        for node in self.nodes:
            layer = REGISTRY[node.kind]
            if layer.init is None:
                continue
            try:
                own = layer.init(self.params[node.name], self._in_shape(node, layer), rng,
                                 self.dtype)
            except MemoryError as e:  # a spec can ask for any size; say which layer
                loc = node.loc
                raise ShapeError(f"{node.name}: {describe(node)} has more weights than fit in "
                                 f"memory ({e})", loc.line if loc else None,
                                 loc.column if loc else None) from None
            for short, full in self.keys[node.name]:
                weights[full] = own.pop(short)
            assert not own, f"{node.kind}.init made weights it does not declare: {list(own)}"
        return weights

    def _own(self, weights, name):
        """The node's weights by short name ('W', 'b'), as the layer declares them."""
        return {short: weights[full] for short, full in self.keys[name]}

    def forward(self, weights, x, mode=None, start=0, stop=None):
        """x: (batch, *input_shape) -> (output, tape for backward). mode: a Mode;
        None is inference, True a training pass with fresh random numbers.
        start, stop: run only nodes[start:stop], from x, the output of
        nodes[start - 1] (predict's stages); the output is nodes[stop - 1]'s."""
        if not isinstance(mode, Mode):
            mode = Mode(bool(mode))
        values = {self.nodes[start - 1].name if start else self.input_name: x}
        tape = []
        for node in self.nodes[start:stop]:
            p = self.params[node.name]
            w = self._own(weights, node.name)
            layer = REGISTRY[node.kind]
            x = [values[s] for s in node.inputs] if layer.merge else values[node.inputs[0]]
            if node.name in self.crops:
                rows, cols = self.crops[node.name]
                x = x[:, :rows, :cols]
            mode.node = node.name
            z, cache = layer.forward(p, w, x, mode)
            act = self.acts[node.name]
            if act == "linear":
                a = z
            elif layer.owns_output and act in activations.IN_PLACE:
                a = activations.forward(act, z, z)  # nothing else holds z: overwrite it
            else:
                a = activations.forward(act, z, mode.empty("a", z.shape, z.dtype))
            values[node.name] = a
            tape.append((node, w, cache, z, a, mode))
        return values[self.output if stop is None else self.nodes[stop - 1].name], tape

    def backward(self, tape, d_out, d_is_preactivation=False, input_grad=False):
        """Gradients of every parameter (and of the input if asked) from d(output)."""
        grads = {}
        pending = {self.output: d_out}
        for node, w, cache, z, a, mode in reversed(tape):
            d = pending.pop(node.name)
            p = self.params[node.name]
            mode.node = node.name
            act = self.acts[node.name]
            if act != "linear" and not (node.name == self.output and d_is_preactivation):
                d = activations.backward(act, z, a, d, mode.empty("da", d.shape, d.dtype))
            layer = REGISTRY[node.kind]
            need_dx = node.inputs != (self.input_name,) or input_grad
            dx, g = layer.backward(p, w, cache, d, need_dx)
            if dx is not None and node.name in self.crops:  # the rows it did not read: zero
                rows, cols = self.crops[node.name]
                full = mode.zeros("uncropped", (len(dx),) + self.shapes[node.inputs[0]], dx.dtype)
                full[:, :rows, :cols] = dx
                dx = full
            for key, value in g.items():
                grads[f"{node.name}.{key}"] = value
            for src, dxi in zip(node.inputs, dx if layer.merge else [dx]):
                if dxi is not None:  # a layer read by several gets the sum of their gradients
                    pending[src] = pending[src] + dxi if src in pending else dxi
        return grads, pending.get(self.input_name)

    def loss_and_grads(self, weights, x, y, loss, mode=True, input_grad=False):
        """(data loss, output, grads[, d input]) for one batch; y as the output's targets.

        A training step with enough work is split among the cores: each thread
        runs forward and backward on its own part of the batch (parallel.py)
        and the parts' gradients are added. That rounds differently from one
        matmul over the batch, so results depend on the number of threads in
        their last bits (NNSPEC_THREADS=1 never splits); dropout draws each
        part's masks from its own child of the step's seed."""
        if not isinstance(mode, Mode):
            mode = Mode(bool(mode))
        parts = 1 if input_grad or self.couples_batch or not mode.training else \
            parallel.parts(len(x), self.sample_flops * len(x), parallel.MIN_STEP_FLOPS)
        if parts == 1:
            return self._loss_and_grads(weights, x, y, loss, mode, input_grad)
        n = len(x)
        bounds = [n * r // parts for r in range(parts + 1)]

        def part(r):
            lo, hi = bounds[r], bounds[r + 1]
            own = mode.part(r, self.buffers.setdefault(("train", r), {}))
            return self._loss_and_grads(weights, x[lo:hi], y[lo:hi], loss, own, False,
                                        (hi - lo) / n)
        results = parallel.run(part, parts)
        value = sum(r[0] * (hi - lo) / n for r, lo, hi in zip(results, bounds, bounds[1:]))
        grads = results[0][2]
        for _, _, more, _ in results[1:]:
            for key, g in more.items():
                grads[key] += g
        return value, np.concatenate([r[1] for r in results]), grads, None

    def _loss_and_grads(self, weights, x, y, loss, mode, input_grad, share=1.0):
        """loss_and_grads on one thread; `share` of the batch scales the gradients
        (a part's loss is the mean over its own samples)."""
        out, tape = self.forward(weights, x, mode)
        z = tape[-1][3]
        value, d, is_pre = losses.value_and_grad(loss, self.output_activation, z, out, y)
        if share != 1.0:
            d = d * d.dtype.type(share)
        grads, dx = self.backward(tape, d, is_pre, input_grad)
        return value, out, grads, dx

    def predict(self, weights, x, batch_size=PREDICT_BATCH, check=None):
        """Outputs for x, at most batch_size samples at a time, and fewer where that
        keeps a pass's arrays in the CPU's cache (see PREDICT_CACHE_BYTES).
        check(part), where given, vets each part of x just before its pass reads
        it, while it is in the cache (Model.predict's finiteness check)."""
        result = np.empty((len(x),) + self.output_shape, dtype=self.dtype)
        mode = Mode(False, buffers=self.buffers["predict"])
        check = check or (lambda part: None)
        if self.sample_bytes is None and len(x):
            # a first small pass measures them; its outputs are not kept, so that
            # every call splits x the same way (BLAS results for a row can depend
            # on how many rows share the matmul)
            probe = min(len(x), 8)
            check(x[:probe])
            self.forward(weights, x[:probe], mode)
            self.node_bytes = {n.name: 0.0 for n in self.nodes}
            for (name, _), buf in mode.buffers.items():
                self.node_bytes[name] += buf.nbytes / probe
            self.sample_bytes = sum(self.node_bytes.values())
        cut, head, tail = self._stages(weights, batch_size)
        for i in range(0, len(x), tail):
            part = x[i:i + tail]
            if cut:  # the layers before the cut a few samples at a time
                mode.node = handed = self.nodes[cut - 1].name
                mid = mode.empty("handed", (len(part),) + self.shapes[handed], self.dtype)
                for j in range(0, len(part), head):
                    check(part[j:j + head])
                    mid[j:j + head] = self.forward(weights, part[j:j + head], mode, 0, cut)[0]
                part = mid
            else:
                check(part)
            result[i:i + tail] = self.forward(weights, part, mode, cut)[0]
        return result

    def _stages(self, weights, batch_size):
        """(cut, head, tail): predict runs nodes[:cut] `head` samples a pass and
        nodes[cut:] `tail` at a time. A CNN's convolutions want a few samples a
        pass to stay in the cache, its dense layers many, since each pass reads
        their weights again (the benchmark's deeper CNN: 8 samples a pass for
        all, or 8 for the convolutions and 1024 for the dense layers, 1.1x
        faster). The cut is the first node after which a pass of batch_size
        samples fits in PREDICT_CACHE_BYTES and only the node before it is read
        (its output, written and read once, need not stay in the cache), if
        reading the later layers' weights once per `head` samples would cost
        more than handing that output over (not so for the shapes CNN, whose
        dense weights are 0.2 MB); cut 0 runs the whole graph at once."""
        def step(per_sample):
            fit = max(8, int(PREDICT_CACHE_BYTES // max(per_sample or 1, 1)) // 8 * 8)
            return min(batch_size, fit)
        if self.sample_bytes is None or step(self.sample_bytes) == batch_size:
            return 0, batch_size, step(self.sample_bytes)
        names = [n.name for n in self.nodes]
        index = {name: i for i, name in enumerate(names)}
        index[self.input_name] = -1
        # suffix sums and minima, so that finding the cut is linear in the layers:
        # after[i] the bytes of nodes[i:], reach[i] the earliest node they read
        after, reach = [0.0] * (len(names) + 1), [len(names)] * (len(names) + 1)
        for i in range(len(names) - 1, -1, -1):
            after[i] = after[i + 1] + self.node_bytes[names[i]]
            reach[i] = min([reach[i + 1]] + [index[src] for src in self.nodes[i].inputs])
        for cut in range(1, len(names)):
            if reach[cut] < cut - 1 or step(after[cut]) != batch_size:
                continue  # a later node reads past the handed one, or the rest does not fit
            handed = names[cut - 1]
            head = step(sum(self.node_bytes[name] for name in names[:cut]))  # once: it returns
            reread = sum(weights[k].nbytes for name in names[cut:] for _, k in self.keys[name])
            if reread / head > math.prod(self.shapes[handed]) * self.dtype.itemsize:
                return cut, head, batch_size
            break
        return 0, step(self.sample_bytes), step(self.sample_bytes)


def _readers(nodes):
    readers = {}
    for n in nodes:
        for src in n.inputs:
            readers.setdefault(src, []).append(n)
    return readers


def _crops(nodes, params, shapes, output):
    """{node: (rows, cols)}: the leading input rows and columns a layer is given.
    A pooling layer's windows can stop short of its input's last rows and
    columns (seed 001's 4x4 pooling of a 22x22 conv output reads 20x20), so
    the convolution before it, if that is the pooling's only input and reads
    no padding, computes those outputs for nothing: 17% of its work there.
    Such a convolution is given only the input rows its read outputs need.
    The outputs it skips would get a zero gradient, so training is unchanged
    but for the order in which dW's sum is rounded; shapes and summaries keep
    the declared sizes."""
    readers = _readers(nodes)
    crops = {}
    for n in nodes:
        after = readers.get(n.name, [])
        needs = REGISTRY[n.kind].needs
        reads = REGISTRY[after[0].kind].reads if len(after) == 1 else None
        if needs is None or reads is None or n.name == output:
            continue
        out = shapes[n.name]
        rows, cols = reads(params[after[0].name], out, shapes[after[0].name])
        crop = needs(params[n.name], rows, cols) if (rows, cols) != tuple(out[:2]) else None
        if crop is not None:
            crops[n.name] = crop
    return crops


def _activations(nodes, params, output):
    """Which activation each node applies. As written, except that a relu whose
    only reader is a max pooling (not the output) moves after the pooling:
    max(relu(z)) equals relu(max(z)), and pooling first runs relu, and its
    gradient, on an array kh*kw times smaller. The gradients agree exactly too: where the window's
    max is <= 0 both give zero (relu-first sees a tie of zeros, each share of
    which relu then zeroes), elsewhere both route dy to the same maxima."""
    acts = {n.name: params[n.name].get("activation", "linear") for n in nodes}
    readers = _readers(nodes)
    for n in nodes:
        after = readers.get(n.name, [])
        if (acts[n.name] == "relu" and len(after) == 1 and after[0].name != output
                and after[0].kind in ("maxpool", "globalmaxpool")
                and acts[after[0].name] == "linear"):
            acts[n.name], acts[after[0].name] = "linear", "relu"
    return acts
