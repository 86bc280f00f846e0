"""The model's arrays as tensors on the engine's device, and back.

On a CPU a tensor is the model's own numpy array (torch.from_numpy shares its
memory): the engine updates model.weights and the optimizer's state in place,
so starting a fit, predicting and the end of an epoch copy nothing (the wide
MLP's 1.9M weights with Adam's two slots are 22 MB a copy). On a GPU they are
copied there once and back at each sync. An array that cannot be shared (not
C-contiguous, read-only) is copied on a CPU too.
"""
import numpy as np



def each(x, fn):
    """fn of an array, or of each array of a dict by name (several inputs or
    outputs)."""
    return {k: fn(v) for k, v in x.items()} if isinstance(x, dict) else fn(x)


def rows(x):
    """Samples in a tensor or array, or in a dict of them."""
    return len(next(iter(x.values()))) if isinstance(x, dict) else len(x)


def device_of_tensors(x):
    """The device of a tensor, or of a dict of them."""
    return next(iter(x.values())).device if isinstance(x, dict) else x.device


def shares(device):
    """Whether tensors on device can be numpy's own arrays (a CPU's can)."""
    return device.type == "cpu"


def free_memory(torch, device):
    """Bytes free on a device whose memory is its own."""
    return torch.cuda.mem_get_info(device)[0] if device.type == "cuda" else 0


class Placed:
    """{name: tensor} of a model's arrays on a device; `sync()` writes the tensors
    that do not share the arrays' memory back into them."""

    def __init__(self, torch, device):
        self.torch, self.device = torch, device
        self.tensors, self.copied = {}, {}  # name -> tensor; name -> its array, where copied

    def add(self, name, array, parameter=False):
        tensor = self._tensor(name, array)
        if parameter:
            tensor = self.torch.nn.Parameter(tensor)
        self.tensors[name] = tensor
        return tensor

    def _tensor(self, name, array):
        torch = self.torch
        if shares(self.device) and array.flags.c_contiguous and array.flags.writeable:
            return torch.from_numpy(array)
        self.copied[name] = array
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device, copy=True)

    def sync(self):
        """The device's values into the arrays."""
        for name, array in self.copied.items():
            np.copyto(array, self.tensors[name].detach().cpu().numpy())

    def upload(self):
        """The arrays' values onto the device."""
        with self.torch.no_grad():
            for name, array in self.copied.items():
                self.tensors[name].copy_(self.torch.from_numpy(np.ascontiguousarray(array)))


def weights(model, torch, device, trained=True):
    """Placed model weights: parameters for training (trained=True) or inference."""
    placed = Placed(torch, device)
    learning = set(model.graph.trainable)  # not running statistics, nor frozen layers'
    for name, array in model.weights.items():
        placed.add(name, array, parameter=trained and name in learning)
    return placed


class State(Placed):
    """The optimizer's state slots (`dense1.W/m`) as tensors, made as zeros shaped
    like their parameter on first use, in the optimizer's state too."""

    def __init__(self, torch, device, optimizer, weights):
        super().__init__(torch, device)
        self.optimizer, self.weights = optimizer, weights
        for key, array in optimizer.state.items():
            name = key.rpartition("/")[0]
            if name in weights and array.shape == weights[name].shape:
                self.add(key, array)

    def slots(self, names, suffix):
        """The tensors `name/suffix` of each name, in order."""
        out = []
        for name in names:
            key = f"{name}/{suffix}"
            tensor = self.tensors.get(key)
            if tensor is None:
                array = self.optimizer.state[key] = np.zeros_like(self.weights[name])
                tensor = self.add(key, array)
            out.append(tensor)
        return out


class Feed:
    """Batches of the fit's arrays onto the device; inputs and targets are arrays,
    or dicts of them by name. On a CPU a batch's rows are a tensor over numpy's
    copy of them. On a GPU a data set that fits in a quarter of the free memory
    goes there once and batches are indexed there; a larger one goes a batch at
    a time through pinned memory. check(part of x): the inputs' own check
    (token ids), before x reaches the device."""

    KEPT = 8  # arrays kept on the device: x and targets, validation's (two of each)

    def __init__(self, torch, device, check):
        self.torch, self.device, self.check = torch, device, check
        self.resident = {}  # id(array) -> (array, tensor)

    def batch(self, x, targets, idx):
        torch = self.torch
        if not shares(self.device):
            held = self._resident(x, True), self._resident(targets)
            if None not in held:
                rows = torch.from_numpy(idx).to(self.device)
                return each(held[0], lambda a: a[rows]), each(held[1], lambda a: a[rows])
        xb = each(x, lambda a: a[idx])
        self.check(xb)
        return each(xb, self._tensor), each(targets, lambda a: self._tensor(a[idx]))

    def whole(self, x, targets):
        """All of x and the targets (validation data)."""
        held = self._resident(x, True), self._resident(targets)
        if None in held:
            self.check(x)
            held = each(x, self._tensor), each(targets, self._tensor)
        return held

    def _tensor(self, array):
        tensor = self.torch.from_numpy(np.ascontiguousarray(array))
        if self.device.type == "cpu":
            return tensor
        return tensor.pin_memory().to(self.device, non_blocking=True)

    def _resident(self, x, check=False):
        """x (an array or a dict of them) on the device, or None where it is not."""
        if shares(self.device):
            return None
        arrays = x.values() if isinstance(x, dict) else [x]
        if any(id(a) not in self.resident or self.resident[id(a)][0] is not a for a in arrays):
            if sum(a.nbytes for a in arrays) > free_memory(self.torch, self.device) // 4:
                return None
            if check:
                self.check(x)
            if len(self.resident) + len(arrays) > self.KEPT:  # an epoch's fresh draw
                self.resident.clear()  # (resample) replaces them
            for a in arrays:
                tensor = self.torch.from_numpy(np.ascontiguousarray(a)).to(self.device,
                                                                         copy=True)
                self.resident[id(a)] = (a, tensor)
        return each(x, lambda a: self.resident[id(a)][1])
