"""A trained model as readable PyTorch: DIR/model.py, a torch.nn.Module whose
forward reads like the spec, one attribute per layer, and DIR/model.safetensors,
its weights under the module's own parameter names. import_weights() brings
weights trained elsewhere back into a bundle. No pickle on either side.

The module keeps nnspec's layouts (channels last, W as nnspec stores it), so
every weight maps one to one and the round trip is exact.
"""
import json
from pathlib import Path

from ..errors import BundleError, NNSpecError
from ..files import document
from ..files.io import read_bytes, write_atomic
from ..optional import need
from .torch_source import attribute, source


def export(model, directory):
    """Write DIR/model.py and DIR/model.safetensors."""
    numpy_safetensors = need("safetensors.numpy", "torch")
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise NNSpecError(f"{directory}: cannot write: {e.strerror}") from None
    keys = parameter_keys(model.graph)
    tensors = {keys[name]: array for name, array in model.weights.items()}
    write_atomic(directory / "model.py", source(model).encode("utf-8"))
    blob = numpy_safetensors.save(tensors, metadata={
        "nnspec_spec": model.text, **{f"nnspec_{key}": json.dumps(value) for key, value in
                                      _extras(model).items()}})
    write_atomic(directory / "model.safetensors", blob)
    return directory


def _extras(model):
    """What a bundle holds besides weights, which import brings back from the
    file's metadata: without the preprocessing's fitted numbers the model could
    not take raw inputs."""
    return {"classes": list(model.classes) if model.classes is not None else None,
            "preprocess": model.preprocess,
            "features": list(model.features) if model.features is not None else None,
            # every input's and output's, for a network of several
            "preprocessing": model.preprocessing,
            "output_classes": {k: list(v) if v is not None else None
                               for k, v in model.output_classes.items()}}


def _metadata(data, path):
    """A safetensors file's __metadata__ map (its header is 8 bytes of length, then JSON)."""
    try:
        size = int.from_bytes(data[:8], "little")
        return json.loads(data[8:8 + size]).get("__metadata__") or {}
    except (ValueError, AttributeError):
        raise BundleError(f"{path}: not a readable safetensors file (its header)") from None


def parameter_keys(graph):
    """{nnspec parameter name: the module's parameter name}, e.g. res1/conv1.W ->
    res1__conv1.W; a clash of two layers' attributes is an error."""
    keys = {full: f"{attribute(node)}.{short}" for node, pairs in graph.keys.items()
            for short, full in pairs}
    if len(set(keys.values())) < len(keys):
        raise NNSpecError("two layers' names become the same Python attribute; rename one")
    return keys


def import_weights(model, path):
    """Weights from a safetensors file (as export writes, or a state_dict saved with
    safetensors.torch.save_file) into model, each checked against its declaration."""
    numpy_safetensors = need("safetensors.numpy", "torch")
    data = read_bytes(path, BundleError, what="safetensors file")
    try:
        stored = numpy_safetensors.load(data)
    except Exception as e:  # safetensors raises its own error types
        raise BundleError(f"{path}: not a readable safetensors file ({e})") from None
    names = {key: name for name, key in parameter_keys(model.graph).items()}
    unknown = sorted(set(stored) - set(names))
    missing = sorted(set(names) - set(stored))
    if unknown or missing:
        raise BundleError(f"{path}: " + (f"{unknown[0]!r} is not a parameter of the spec"
                                         if unknown else f"parameter {missing[0]!r} is missing"))
    weights = {}
    for key, name in names.items():
        array = stored[key]
        if array.shape != model.weights[name].shape:
            raise BundleError(f"{path}: {key} has shape {list(array.shape)}, the spec needs "
                              f"{list(model.weights[name].shape)}")
        weights[name] = array
    model.set_weights(weights)
    metadata, graph, field = _metadata(data, path), model.graph, f"{path}: metadata "
    try:
        extras = {key: json.loads(metadata[f"nnspec_{key}"]) for key in _extras(model)
                  if f"nnspec_{key}" in metadata}
    except ValueError:
        raise BundleError(f"{field}is not JSON") from None
    checked = {"classes": {}, "preprocessing": {}}
    outputs = {o.name: graph.shapes[o.node][-1] for o in graph.outputs}
    classes = extras.get("output_classes") or (
        {graph.outputs[0].name: extras["classes"]} if "classes" in extras else {})
    for name, names in (classes.items() if isinstance(classes, dict) else ()):
        if name not in outputs:
            raise BundleError(f"{field}output_classes: {name!r} is no output of the spec")
        checked["classes"][name] = document.check_classes(names, outputs[name],
                                                          f"{field}classes of {name}")
    preprocessing = extras.get("preprocessing") or (
        {graph.input_name: extras["preprocess"]} if "preprocess" in extras else {})
    for name, pre in (preprocessing.items() if isinstance(preprocessing, dict) else ()):
        if name not in graph.input_shapes:
            raise BundleError(f"{field}preprocessing: {name!r} is no input of the spec")
        checked["preprocessing"][name] = document.check_preprocess(
            pre, graph.input_shapes[name], field=f"{field}preprocess of {name}")
    if "features" in extras:
        checked["features"] = document.check_features(extras["features"], graph,
                                                      field + "features")
    model.set_extras(**checked)
    return model
