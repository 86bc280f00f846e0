"""Pooling: maxpool and avgpool over windows inside the input (pool_valid.py) or
with same padding (pool_same.py), globalmaxpool and globalavgpool
(pool_global.py); pool_reference.py writes them as their definitions read.
Those kernels work on (batch, h, w, c) images under a (kh, kw) window; a pool
over a (batch, time, features) sequence runs as one over (batch, time, 1,
features) under a (k, 1) window (lang/kinds/pool.py's as_image), the input and
the gradients passed as views, as the 1-D conv is (conv.py)."""
from ...lang.kinds.pool import as_image
from .base import Layer
from .pool_global import (global_avg_backward, global_avg_forward, global_flops,
                          global_max_backward, global_max_forward)
from .pool_same import avg_same_backward, avg_same_forward, max_same_backward, max_same_forward
from .pool_valid import avg_backward, avg_forward, flops, max_backward, max_forward


def _on_images(valid, same):
    """valid, same: (forward, backward) of the valid kernels and their same-padding
    wrappers -> forward and backward that run either, on an image or on a sequence
    as a TIMEx1xFEATURES image."""
    def forward(p, w, x, mode):
        p, _ = as_image(p, x.shape[1:])
        run = (same if p.get("padding") == "same" else valid)[0]
        if x.ndim == 4:
            return run(p, w, x, mode)
        y, cache = run(p, w, x[:, :, None], mode)
        return y[:, :, 0], cache

    def backward(p, w, cache, dy, need_dx):
        p, _ = as_image(p, dy.shape[1:])
        run = (same if p.get("padding") == "same" else valid)[1]
        if dy.ndim == 4:
            return run(p, w, cache, dy, need_dx)
        dx, grads = run(p, w, cache, dy[:, :, None], need_dx)
        return (None if dx is None else dx[:, :, 0]), grads
    return forward, backward


def _flops(p, in_shape, out_shape):
    return flops(*as_image(p, in_shape), out_shape)


LAYERS = {"maxpool": Layer(*_on_images((max_forward, max_backward),
                                       (max_same_forward, max_same_backward)), flops=_flops),
          "avgpool": Layer(*_on_images((avg_forward, avg_backward),
                                       (avg_same_forward, avg_same_backward)), flops=_flops),
          "globalmaxpool": Layer(global_max_forward, global_max_backward, flops=global_flops),
          "globalavgpool": Layer(global_avg_forward, global_avg_backward, flops=global_flops)}
