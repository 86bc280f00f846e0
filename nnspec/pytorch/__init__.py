"""nnspec's PyTorch engine: the same spec and train block, trained by PyTorch on
its CPU or CUDA build, and on many processes with DistributedDataParallel
(`torchrun`). The result is an ordinary bundle.

    nnspec train SPEC --engine torch [--device cuda] -o BUNDLE
    model.fit(x, y, engine="torch", device="cuda")

net.py builds the torch.nn.Module from the generator export uses;
optimizers.py and losses.py restate nnspec's update rules and losses in torch
ops, so a float64 run matches the numpy engine's to rounding; steps.py is the
training step the fit loop (training/loop.py) calls in place of numpy's, and
everything around it (shuffling, schedules, metrics, callbacks, checkpoints,
Ctrl-C, resume) is the loop's own. docs/scale.md says when and how to use it.
torch is imported only here: `pip install "nnspec[torch]"`.
"""
