"""Pooling: maxpool and avgpool over windows inside the input (pool_valid.py) or
with same padding (pool_same.py), globalmaxpool and globalavgpool
(pool_global.py); pool_reference.py writes them as their definitions read."""
from .base import Layer
from .pool_global import (global_avg_backward, global_avg_forward, global_flops,
                          global_max_backward, global_max_forward)
from .pool_same import avg_same_backward, avg_same_forward, max_same_backward, max_same_forward
from .pool_valid import avg_backward, avg_forward, flops, max_backward, max_forward


def _by_padding(valid, same):
    """A layer function that runs the valid kernel or its same-padding wrapper."""
    def run(p, w, *args):
        return (same if p.get("padding") == "same" else valid)(p, w, *args)
    return run


LAYERS = {"maxpool": Layer(_by_padding(max_forward, max_same_forward),
                           _by_padding(max_backward, max_same_backward), flops=flops),
          "avgpool": Layer(_by_padding(avg_forward, avg_same_forward),
                           _by_padding(avg_backward, avg_same_backward), flops=flops),
          "globalmaxpool": Layer(global_max_forward, global_max_backward, flops=global_flops),
          "globalavgpool": Layer(global_avg_forward, global_avg_backward, flops=global_flops)}
