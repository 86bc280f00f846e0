"""TorchSteps: the fit loop's training step (training/loop.py: NumpySteps) on PyTorch.

Each step: the batch's forward and backward by autograd through PyTorch's own
kernels (modules.py), nnspec's penalties added to the gradients and clipping
(gradients.py), and nnspec's update rule for every parameter at once, each
with its layer's rate times the schedule's factor (optimizers.step). The
batch's loss and metrics are summed on the device (metrics.py); the one value
read each step is the objective, whose finiteness decides whether the update
applies. Weights and optimizer state are the model's own arrays on a CPU
(place.py); on a GPU they live there and are copied back at every sync (the
end of each epoch), where the loop calls back and checkpoints as always.
Validation runs on the device too (evaluate).

Many processes: under `torchrun` (WORLD_SIZE > 1) the net is wrapped in
DistributedDataParallel (gloo on CPU, nccl on CUDA). Every process draws the
same shuffled order from the same seed; process r takes samples r, r + N, ...
of each global batch (as DistributedSampler interleaves them), and its loss is
scaled so that DDP's average of the processes' gradients is the gradient of the
whole batch's loss: one process with batch B and N processes with the same B
take the same steps. The batch's loss and metric sums are added across the
processes in one all_reduce a step. Batch norm uses each process's share for
its batch statistics (as DDP without SyncBatchNorm does), and dropout draws
per process.

Several inputs and outputs: x and the targets are dicts by name, and the
objective (objective.py) sums each output's loss times its weight, as the
numpy engine's graph does. A parameter left out of `rates` (frozen) gets no
update.
"""
import gc
import math
import os

import numpy as np

from ..optional import need
from ..training.outputs import rows
from . import gradients, heap, metrics, optimizers, packed, place, predict, threads
from .objective import Objective


class TorchSteps:
    def __init__(self, model, device="cpu"):
        self.torch = torch = need("torch", "torch", "the torch engine")
        threads.configure(torch)
        heap.settle()
        from .modules import Net
        self.model = model
        self.device = predict.device_of(torch, device)
        self.world, self.rank = _distributed(torch, self.device)
        if self.world > 1 and self.device.type == "cuda":
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        self.weights = place.weights(model, torch, self.device)
        self.tensors = self.weights.tensors
        self.net = Net(model.graph, self.tensors)
        self.forward = self.net
        if self.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.forward = torch.nn.parallel.DistributedDataParallel(self.net, device_ids=ids)
        self.optimizer = model.state.optimizer
        self.state = place.State(torch, self.device, self.optimizer, model.weights)
        self.objective = Objective(torch, model.graph, model.plan, model.target_scaling)
        self.dropouts = any(n.kind == "dropout" for n in model.graph.nodes)
        self.feed = place.Feed(torch, self.device, predict.input_check(model.graph))
        self.rates = None
        self.trained = {"engine": "torch", "device": self.device.type,
                        "processes": self.world}  # what the bundle records

    def batch(self, x, targets, idx):
        """The samples idx of inputs x and targets (arrays, or dicts of them by
        name), as the step takes them."""
        return self.feed.batch(x, targets, idx)

    def tally(self, sums=None):
        return metrics.Tally(self.torch, self.objective.keys, self.device, sums)

    def _plan(self, rates):
        """The parameters a step updates (those in rates, in its order) and their
        penalties, made again only when the loop hands other rates."""
        if rates is self.rates:
            return
        self.rates, self.names = rates, list(rates)
        self.ws = [self.tensors[name] for name in self.names]
        self.penalties = gradients.Penalties(
            self.torch, self.names, [rates[n].l1 for n in self.names],
            [rates[n].l2 for n in self.names], self.device, self.ws[0].dtype if self.ws else None)
        self.packs = None
        if place.shares(self.device) and self.world == 1:
            self.packs = packed.plan(self.torch, self.model, rates, self.tensors)

    def step(self, x, targets, rates, factor, weights=None):
        """One batch (tensors from batch()) -> (objective: a float, metrics.Batch: the
        mean data loss and the batch's sums on the device, for the tally). weights:
        the samples' loss weights, normalised over the whole batch
        (losses.sample_weights), or None."""
        torch, config = self.torch, self.model.config
        self._plan(rates)
        threads.balance(torch, threads.RECHECK_FIT)  # other processes may have started
        n = rows(x)
        if self.world > 1:  # this process's share of the batch
            x, targets = place.each(x, _share(self)), place.each(targets, _share(self))
            weights = None if weights is None else _share(self)(weights)
        count = rows(x)
        self._seed_dropout()
        if not self.net.training:
            self.net.train(True)
        if self.packs is not None:
            self.packs.zero_grad()
        else:
            for w in self.ws:
                w.grad = None
        z = self.forward(x, logits=True)
        if weights is not None:
            weights = torch.as_tensor(weights, dtype=self.ws[0].dtype, device=self.device)
        value, sums = self.objective.value_and_sums(z, targets, count, weights=weights)
        # scaled so that the processes' average is the whole batch's mean (or sum)
        scale = count * self.world / n * (n if config.reduction == "sum" else 1)
        (value if scale == 1 else value * scale).backward()
        with torch.no_grad():
            if self.world > 1:
                torch.distributed.all_reduce(sums)
                mean = float(sums[0]) / n
            else:
                mean = float(value)  # the one read a step: is the update to apply
            total = mean * n if config.reduction == "sum" else mean
            gs = [w.grad if w.grad is not None else torch.zeros_like(w) for w in self.ws]
            if self.penalties:
                total += float(self.penalties.apply(self.ws, gs))
            batch = metrics.Batch(mean, sums)
            if not math.isfinite(total):
                return total, batch
            if config.clip_norm:
                gradients.clip(torch, gs, config.clip_norm)
            self.optimizer.t += 1
            if self.packs is not None:
                self.packs.step(factor, self.optimizer.state)
            else:
                optimizers.step(torch, self.optimizer, self.names, self.ws, gs,
                                [float(rates[name].lr * factor) for name in self.names],
                                lambda suffix: self.state.slots(self.names, suffix))
        return total, batch

    def evaluate(self, x, targets):
        """The loop's validation, on the device: {'loss': ..., metric: ...}."""
        xd, td = self.feed.whole(x, targets)
        return predict.evaluate(self.torch, self.net, self.model, xd, td, self.objective)

    def _seed_dropout(self):
        """Dropout masks from the spec's seed and the step number, so a resumed run
        draws the same (torch's generator, not numpy's: other masks than the numpy
        engine's)."""
        if not self.dropouts:
            return
        seq = self.model.training_mode().seed
        seed = int(np.random.SeedSequence(seq.entropy, spawn_key=seq.spawn_key + (self.rank,))
                   .generate_state(1, np.uint64)[0] >> 1)
        self.net.generator = self.torch.Generator(device=self.device).manual_seed(seed)

    def sync(self):
        """Weights, running statistics and optimizer state back into the model (on a
        CPU they are its arrays already, but for any that could not be shared)."""
        self.weights.sync()
        self.state.sync()


def _share(steps):
    """array -> this process's rows of it: r, r + N, ... (as DistributedSampler)."""
    return lambda a: a[steps.rank::steps.world]


def _distributed(torch, device):
    """(processes, this one's rank): 1 and 0 unless torchrun started several."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 1, 0
    dist = torch.distributed
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_world_size(), dist.get_rank()


def leave_group():
    """After training under torchrun: wait for every process (the first writes the
    bundle meanwhile), then leave the process group, so that no process exits
    while another still holds a connection to it (gloo aborts the one left)."""
    torch = need("torch", "torch", "the torch engine")
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        gc.collect()  # DistributedDataParallel's reducer, in reference cycles, freed while its group lives
        dist.barrier()
        dist.destroy_process_group()

