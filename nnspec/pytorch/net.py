"""The spec as a torch.nn.Module: the module export writes (export/torch_source.py),
loaded from a temporary file, with the model's weights and running statistics."""
import importlib.util
import tempfile
from pathlib import Path

import numpy as np

from ..export.torch import parameter_keys
from ..export.torch_source import source


def build(model, torch, device):
    """-> (net on device in the model's float type, {nnspec name: its tensor})."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "nnspec_net.py"
        path.write_text(source(model, engine=True), encoding="utf-8")
        spec = importlib.util.spec_from_file_location(f"nnspec_net_{id(model)}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # our own generated code, as export writes it
    dtype = torch.float64 if model.graph.dtype == np.float64 else torch.float32
    net = module.Net().to(device=device, dtype=dtype)
    named = dict(net.named_parameters()) | dict(net.named_buffers())
    tensors = {}
    for name, key in parameter_keys(model.graph).items():
        tensors[name] = named[key]
        with torch.no_grad():
            tensors[name].copy_(torch.from_numpy(np.ascontiguousarray(model.weights[name])))
    return net, tensors
