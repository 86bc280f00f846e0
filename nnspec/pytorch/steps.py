"""TorchSteps: the fit loop's training step (training/loop.py: NumpySteps) on PyTorch.

Each step: the batch's forward and backward by autograd, nnspec's penalties
added to the gradients as numpy adds them, clipping, and nnspec's update rule
per parameter with its layer's rate times the schedule's factor. Weights and
optimizer state live on the device between steps and are copied back into the
model at the end of every epoch (sync), where the loop evaluates, calls back
and checkpoints as it always does.

Many processes: under `torchrun` (WORLD_SIZE > 1) the net is wrapped in
DistributedDataParallel (gloo on CPU, nccl on CUDA). Every process draws the
same shuffled order from the same seed; process r takes samples r, r + N, ...
of each global batch (as DistributedSampler interleaves them), and its loss is
scaled so that DDP's average of the processes' gradients is the gradient of the
whole batch's loss: one process with batch B and N processes with the same B
take the same steps. Batch norm then uses each process's share for its batch
statistics (as DDP without SyncBatchNorm does), and dropout draws per process.
"""
import gc
import math
import os

import numpy as np

from ..errors import NNSpecError
from ..engine.graph import Result
from ..optional import need
from . import losses, optimizers
from .net import build


class TorchSteps:
    def __init__(self, model, device="cpu"):
        self.torch = torch = need("torch", "torch", "the torch engine")
        self.model = model
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError) as e:
            raise NNSpecError(f"--device {device}: {e}") from None
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise NNSpecError("--device cuda: this torch has no CUDA device available "
                              f"(torch {torch.__version__}); use --device cpu")
        self.world, self.rank = _distributed(torch, self.device)
        if self.world > 1 and self.device.type == "cuda":
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        self.net, self.tensors = build(model, torch, self.device)
        self.forward = self.net
        if self.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.forward = torch.nn.parallel.DistributedDataParallel(self.net, device_ids=ids)
        self.optimizer = model.state.optimizer
        self.state = {k: torch.from_numpy(np.ascontiguousarray(v)).to(self.device)
                      for k, v in self.optimizer.state.items()}
        self.dropouts = [m for m in self.net.modules() if type(m).__name__ == "Dropout"]
        self.trained = {"engine": "torch", "device": self.device.type,
                        "processes": self.world}  # what the bundle records

    def _tensor(self, a):
        return self.torch.from_numpy(np.ascontiguousarray(a)).to(self.device)

    def step(self, x, targets, rates, factor):
        torch, model, config = self.torch, self.model, self.model.config
        n = len(x)
        local = slice(self.rank, None, self.world)  # this process's share of the batch
        xb, tb = self._tensor(x[local]), self._tensor(targets[local])
        self._seed_dropout()
        self.net.train(True)
        self.net.zero_grad(set_to_none=True)
        z = self.forward(xb, logits=True)
        activation = model.graph.output_activation
        out = losses.activate(torch, activation, z)
        value = losses.loss(torch, model.plan.terms[0].loss, activation, z, out, tb) if len(xb) \
            else z.sum() * 0  # a process with no share of a small last batch

        # scaled so that the processes' average is the whole batch's mean (or sum)
        scale = len(xb) * self.world / n * (n if config.reduction == "sum" else 1)
        (value * scale).backward()
        with torch.no_grad():
            value = self._whole(value.detach() * len(xb)) / n
            total = value * n if config.reduction == "sum" else value
            total = total + self._penalize(rates)
            outputs = self._gather(out.detach(), n)
            result = Result(value, {model.plan.terms[0].name: value}, outputs, None, None)
            if not math.isfinite(total):
                return total, result
            grads = {name: self.tensors[name].grad for name in rates}
            if config.clip_norm:
                self._clip(grads, config.clip_norm)
            self.optimizer.t += 1
            for name, g in grads.items():
                optimizers.update(torch, self.optimizer, name, self.tensors[name], g,
                                  float(rates[name].lr * factor), self._slot(name))
        return total, result

    def _penalize(self, rates):
        """l1 sum|w| + l2 sum w^2 on the gradients, as training/loop.regularize does."""
        torch, terms = self.torch, []
        for name, (_, l1, l2) in rates.items():
            w = self.tensors[name]
            if w.grad is None:  # a parameter no path reached: a zero gradient
                w.grad = torch.zeros_like(w)
            if l1:
                terms.append(l1 * w.abs().sum())
                w.grad.add_(l1 * torch.sign(w))
            if l2:
                terms.append(l2 * (w * w).sum())
                w.grad.add_((2 * l2) * w)
        # one read from the device, not one per parameter
        return float(torch.stack(terms).sum()) if terms else 0.0

    def _clip(self, grads, max_norm):
        norm = math.sqrt(sum(float((g * g).sum()) for g in grads.values()))
        if norm > max_norm:
            for g in grads.values():
                g.mul_(max_norm / (norm + 1e-6))

    def _slot(self, name):
        def slot(key):
            if key not in self.state:
                self.state[key] = self.torch.zeros_like(self.tensors[name])
            return self.state[key]
        return slot

    def _seed_dropout(self):
        """Dropout masks from the spec's seed and the step number, so a resumed run
        draws the same (torch's generator, not numpy's: other masks than the numpy
        engine's)."""
        if not self.dropouts:
            return
        seq = self.model.training_mode().seed
        seed = int(np.random.SeedSequence(seq.entropy, spawn_key=seq.spawn_key + (self.rank,))
                   .generate_state(1, np.uint64)[0] >> 1)
        generator = self.torch.Generator(device=self.device).manual_seed(seed)
        for module in self.dropouts:
            module.generator = generator

    def _whole(self, local_sum):
        """A sum over this process's samples -> over the whole batch (a float)."""
        if self.world > 1:
            self.torch.distributed.all_reduce(local_sum)
        return float(local_sum)

    def _gather(self, out, n):
        """The whole batch's outputs in its order, as numpy, for the loop's metrics."""
        if self.world == 1:
            return out.cpu().numpy()
        torch = self.torch
        width = math.ceil(n / self.world)
        padded = torch.zeros((width,) + tuple(out.shape[1:]), dtype=out.dtype, device=out.device)
        padded[:len(out)] = out
        parts = [torch.empty_like(padded) for _ in range(self.world)]
        torch.distributed.all_gather(parts, padded)
        whole = np.empty((n,) + tuple(out.shape[1:]), dtype=self.model.graph.dtype)
        for r, part in enumerate(parts):
            share = len(range(r, n, self.world))
            whole[r::self.world] = part[:share].cpu().numpy()
        return whole

    def sync(self):
        """Weights, running statistics and optimizer state back into the model."""
        model = self.model
        for name, tensor in self.tensors.items():
            np.copyto(model.weights[name], tensor.detach().cpu().numpy())
        for key, tensor in self.state.items():
            value = tensor.detach().cpu().numpy()
            state = self.optimizer.state
            if key in state and state[key].shape == value.shape:
                np.copyto(state[key], value)
            else:
                state[key] = value.copy()


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
