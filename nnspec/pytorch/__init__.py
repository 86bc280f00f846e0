"""nnspec's PyTorch engine: the same spec and train block, trained by PyTorch on
its CPU or CUDA build, and on many processes with DistributedDataParallel
(`torchrun`). The result is an ordinary bundle.

    nnspec train SPEC --engine torch [--device cuda] -o BUNDLE
    model.fit(x, y, engine="torch", device="cuda")
    model.predict(x, engine="torch", device="cuda")

In pipeline order: modules.py builds the network from the compiled graph with
PyTorch's own kernels; losses.py and metrics.py restate nnspec's losses and
metrics in torch ops, and objective.py sums them over a network's outputs;
optimizers.py its update rules (one parameter, and all at once with foreach
operations), gradients.py penalties and clipping,
packed.py a small network's update as one vector on a CPU; place.py puts the
model's arrays and data on the device (on a CPU, the arrays themselves);
threads.py decides how many cores and heap.py how glibc keeps freed memory;
steps.py is the training step the fit loop
(training/loop.py) calls in place of numpy's, and predict.py prediction and
validation. Everything around the step (shuffling, schedules, callbacks,
checkpoints, Ctrl-C, resume) is the loop's own. A float64 run matches the numpy
engine's to rounding (tests/test_torch_engine.py). docs/scale.md says when and
how to use it. torch is imported only here: `pip install "nnspec[torch]"`.
"""
