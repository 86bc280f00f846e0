"""`nnspec train`: a spec (or a checkpoint to resume) -> a trained bundle.

What the command adds to Model.fit: the spec's data set, progress on stdout,
the JSON-lines log, a checkpoint per epoch, a checkpoint on Ctrl-C, and the
last good checkpoint named when the loss diverges.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

from .. import arrays, compile, load
from ..engine import tables, target_scale
from ..errors import DataError, SpecError
from ..files.data import sets
from ..files.io import check_writable, read_spec
from ..lang import parse, template
from ..model import Model
from ..lang.ir import Call
from ..training.loop import rows
from ..lang.settings import read
from ..lang.syntax import parse_value
from ..training.callbacks import Checkpoints, latest_checkpoint
from ..training.loop import TrainingDiverged, TrainingInterrupted
from ..training.progress import JsonLog, Progress


def plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


# settings with a flag of their own
FLAGS = ("seed", "epochs", "batch_size", "lr", "optimizer", "init_from")


def overrides(args):
    """The train block settings the command line replaces: its flags, and each
    `--set KEY=VALUE`, read as the spec's settings are (lang/settings.read)."""
    given = [(f"--{key.replace('_', '-')}", key, getattr(args, key)) for key in FLAGS]
    holes = getattr(args, "placeholders", ())
    for item in getattr(args, "set", None) or ():
        if item.partition("=")[0].strip() in holes:  # a {placeholder}: fills the spec's text
            continue
        key, equals, text = item.partition("=")
        if not equals:
            raise DataError(f"--set {item}: write KEY=VALUE, e.g. --set lr=0.01")
        given.append((f"--set {key}", key.strip(), text.strip()))
    out = {}
    for flag, key, value in given:
        if value is None:
            continue
        if key == "data":
            out["data"] = data_flag(value)
            continue
        if key == "init_from" and not value.startswith("weights("):  # a path as it is
            value = json.dumps(value)
        try:
            setting = read(key, value)
        except SpecError as e:
            raise DataError(f"{flag}: {e.message}") from None
        if flag == "--optimizer" and "lr" in setting:
            raise DataError("--optimizer: give the learning rate with --lr")
        out.update(setting)
    if args.data:
        out["data"] = data_flag(args.data)
    return out


def _filled(text, source, fills):
    """The spec with its placeholders filled by --set (lang/template.fill), parsed."""
    filled = template.fill(text, fills, source=source)
    return parse(filled, source), filled, source


def data_flag(text):
    """--data: a data set as the train block writes it (mnist, shapes(500),
    csv("t.csv", label="y")) or a path; paths are taken from the current folder."""
    try:
        form, value = parse_value(text, "--data")
    except SpecError:
        form, value = "string", text  # a bare path such as digits.npz
    if form not in ("name", "call", "string"):
        form, value = "string", text
    if form == "call" and value.name in sets.FORMS and value.args and isinstance(value.args[0], str):
        return Call(value.name, (str(Path(value.args[0]).resolve()),) + value.args[1:], value.kwargs)
    if form != "call" and sets.is_file_set(value):
        return str(Path(value).resolve())
    return value


def resume(spec_path, source, changes):
    """Load the newest checkpoint from a directory or a bundle and check it
    continues `spec_path`'s network; --lr/--batch-size/--epochs may change."""
    source = Path(source)
    path = latest_checkpoint(source) if source.is_dir() else source
    if path is None:
        raise DataError(f"{source}: no checkpoints (epoch-NNNN.nnb) in this directory")
    model = load(path)
    if not model.meta.get("checkpoint"):
        raise DataError(f"{path}: holds no training state to resume (it was saved without "
                        "a checkpoint; train with --checkpoint-dir)")
    spec = parse(*read_spec(Path(spec_path)))
    if spec.nodes != model.network.nodes:
        differ = next((a.name for a, b in zip(spec.nodes, model.network.nodes) if a != b),
                      "the number of layers")
        raise DataError(f"{path}: was trained from a different network than {spec_path} "
                        f"({differ} differs)")
    for key in ("seed", "optimizer", "optimizer_options", "data"):
        if key in changes and changes[key] != getattr(model.config, key):
            raise DataError(f"--{key.split('_')[0]}: cannot change when resuming; the "
                            f"checkpoint trains with {key} {getattr(model.config, key)!r}")
    model.configure(**{k: v for k, v in changes.items() if k in ("lr", "batch_size", "epochs")})
    return model, path


def train(args):
    check_writable(args.output, DataError)  # before any work that a bad path would lose
    if (args.engine != "torch") and (args.device != "cpu" or args.nproc > 1):
        raise DataError("--device and --nproc are the torch engine's: add --engine torch")
    if args.nproc > 1 and "WORLD_SIZE" not in os.environ:
        return _launch(args)
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun, one process speaks and writes
        args.quiet, args.log, args.checkpoint_dir, args.animate = True, None, None, None
        args.output = None
    text, source = read_spec(Path(args.spec))
    args.placeholders = template.placeholders(text, source)
    changes = overrides(args)
    fills = {k.strip(): v.strip() for k, _, v in (i.partition("=") for i in args.set or ())
             if k.strip() in args.placeholders}
    if args.resume:
        if args.unfreeze is not None or args.init_from:
            raise DataError(f"--{'unfreeze' if args.unfreeze is not None else 'init-from'}: "
                            "a resumed run trains as it began; start a new phase from the "
                            f"checkpoint instead: --init-from {args.resume}")
        model, path = resume(args.spec, args.resume, changes)
        where = f"epoch {model.epoch}" + (f", batch {model.position.batch}"
                                          if model.position else "")
        started = f"resuming {path} after {where}"
    else:
        model = compile(Path(args.spec), **changes) if not fills else \
            Model(*_filled(text, source, fills), **changes)
        started = f"training {args.spec}"
        if args.unfreeze is not None:
            model.unfreeze(*args.unfreeze)
    config = model.config
    splits = model.data(args.data_dir)
    out = (lambda *a, **k: None) if args.quiet else print
    sizes = [rows(p[0]) if p else 0 for p in (splits.train, splits.validation, splits.test)]
    out(f"{started}: {sizes[0]} train, {sizes[1]} validation, {sizes[2]} test samples; "
        f"{plural(config.epochs, 'epoch')}, batch {config.batch_size}, seed {config.seed}; "
        f"{_scales(model)}" + (f"; {splits.label}" if splits.label else ""), flush=True)
    for name, activation, stats in arrays.far_unscaled(model, splits.train[1]):
        out(f"note: {name}'s targets lie far from unit scale (mean {stats['mean']:.3g}, std "
            f"{stats['std']:.3g}) and its {activation} output learns them as they are, "
            "slowly if at all: make it linear, and they train on unit scale")
    if model.started_from is not None:
        out("\n".join(model.started_from.lines()))
    if model.graph.frozen:
        loaded = set(model.started_from.loaded) if model.started_from else set()
        random = "" if args.resume or model.graph.frozen <= loaded else \
            "; those no bundle loaded keep their random initial values (init_from loads a base)"
        out(f"frozen: {', '.join(sorted(model.graph.frozen))} (no updates; batch norms use "
            f"their running statistics{random})")
    callbacks = [Progress(sys.stdout, "quiet" if args.quiet else None, args.print_every)]
    log = JsonLog(args.log) if args.log else None
    checkpoints = Checkpoints(args.checkpoint_dir) if args.checkpoint_dir else None
    callbacks += [c for c in (log, checkpoints) if c is not None]
    if args.animate:
        callbacks.append(_animation(args.animate, splits))
    try:
        code = _fit(args, model, splits, callbacks, log, checkpoints, out)
    finally:
        if log:
            log.close()
    if args.engine == "torch" and "WORLD_SIZE" in os.environ:
        from ..pytorch.steps import leave_group
        leave_group()
        # A torchrun worker whose work is written leaves without the interpreter's
        # finalization: gloo's threads torn down there abort the process now and then
        # ("terminate called without an active exception", pytorch#179291), which
        # torchrun reports as the whole run failing.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _fit(args, model, splits, callbacks, log, checkpoints, out):
    try:
        model.fit(*splits.train, validation_data=splits.validation,
                  sample_weight=splits.weights[0] if splits.weights else None,
                  epochs=max(model.config.epochs - model.epoch, 0), callbacks=callbacks,
                  engine=args.engine, device=args.device)
    except TrainingInterrupted:
        if args.output is None:  # not the writing process
            return 130
        for cb in callbacks:
            getattr(cb, "finish", lambda: None)()  # an animation keeps the frames it has
        path = checkpoints.save() if checkpoints else _interrupted_path(args.output)
        if not checkpoints:
            model.save(path, checkpoint=True)
        where = f"in epoch {model.epoch + 1} after batch {model.position.batch}" \
            if model.position else f"after epoch {model.epoch}"
        print(f"interrupted {where}; checkpoint written to {path}\nresume with: nnspec train {args.spec} "
              f"-o {args.output} --resume {path}", file=sys.stderr)
        return 130
    except TrainingDiverged as e:
        if log:
            log.write({"event": "diverged", "message": str(e)})
        last = f"the last good checkpoint is {checkpoints.last}" if checkpoints and \
            checkpoints.last else f"nothing was written to {args.output}"
        raise TrainingDiverged(f"{e}; {last}") from None
    stopped = model.stopper.report() if model.stopper is not None else None
    if stopped:
        out(stopped)
    if splits.test:
        result = model.evaluate(*splits.test)
        for key, value in result.items():
            model.history["test_" + key] = [value]
        if log:
            log.write({"event": "test", **result})
        out("test  " + "  ".join(f"{k} {v:.4f}" for k, v in result.items()))
    if args.output is not None:
        model.save(args.output, checkpoint=True)
        out(f"saved {args.output}")
    return 0


def _scales(model):
    """The header's word on each input's preprocessing and who said it, a table's
    columns, and a target scaling."""
    said = {n.name: ("the input line" if n.p.get("scale") else "the spec" if model.config.scale
                     else "the data set") for n in model.network.inputs}
    pre = model.preprocessing
    read = {n: f"; {'' if len(said) == 1 else n + ' reads '}columns "
               f"{tables.describe(pre[n]['columns'])}" for n in said if "columns" in pre[n]}
    why = "" if model.config.target_scale or model.table_data else \
        " (far from unit scale; target_scale = none trains on them as they are)"
    one = len(model.plan.terms) == 1  # then its targets are the label column's, named after
    targets = "".join(f"; {'targets' if one else 'target ' + name} scaled "
                      f"{target_scale.describe(stats)}{why}"
                      for name, stats in model.target_scaling.items())
    if len(said) == 1:
        (name, who), = said.items()
        return f"scale {pre[name]['kind']} (as {who} says){read.get(name, '')}{targets}"
    return "scale " + ", ".join(f"{name} {pre[name]['kind']} (as {who} says)"
                                for name, who in said.items()) + "".join(read.values()) + targets


def _launch(args):
    """--nproc N: this same command under torchrun, N processes on this machine."""
    from ..optional import need
    need("torch", "torch", "--nproc")
    argv, words = [], iter(args.argv)
    for word in words:
        if word == "--nproc":
            next(words, None)  # and its value
        elif not word.startswith("--nproc="):
            argv.append(word)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={args.nproc}", "-m", "nnspec", *argv]
    return subprocess.call(command)


def _animation(path, splits):
    """--animate: the boundary is drawn over the validation points (else up to 1000
    training points), the same ones in every frame."""
    from ..plots import Animation
    x, y = splits.validation or splits.train
    return Animation(path, x[:1000], y[:1000])


def _interrupted_path(output):
    """Beside the output, never over it: a finished bundle there is not replaced."""
    output = Path(output)
    return output.with_name(output.stem + "-interrupted" + (output.suffix or ".nnb"))

