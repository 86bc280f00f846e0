"""Training: the fit loop (loop.py), optimizers as pure updates over arrays
(optimizers.py, with the packing the loop owns), schedules, callbacks, metrics,
progress, and config.py, which turns a train block into these objects."""
