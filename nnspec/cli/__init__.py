"""`nnspec compile | fmt | train | sweep | infer | plot | export | inspect | lsp`: argparse
wiring and exit codes only. Each command imports what it needs when it runs, so
`nnspec fmt` and `nnspec compile --json` start without numpy.

A user's mistake prints `error: <where>: <what>` (plus the source line and a
caret for spec errors) on stderr and exits 2; a diverged run exits 1.
"""
import json
import sys

from ..errors import NNSpecError, SpecError
from .parser import build


def main(argv=None):
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C before training began, or a second one
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `nnspec inspect m.nnb | head`: the reader has gone
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _main(argv):
    args = build().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    from ..errors import shown
    try:
        if args.command in ("train", "infer", "export", "plot", "sweep"):
            from ..engine.parallel import check_environment
            check_environment()
        return RUN[args.command](args) or 0
    except SpecError as e:
        # messages quote file names and strings from files: escaped, always one line
        print(f"error: {shown(e, 2000)}", file=sys.stderr)
        excerpt = e.excerpt()
        if excerpt:
            print(excerpt, file=sys.stderr)
        return 2
    except NNSpecError as e:
        from ..training.loop import TrainingDiverged
        print(f"error: {shown(e, 2000)}", file=sys.stderr)
        return 1 if isinstance(e, TrainingDiverged) else 2


def _compile(args):
    if args.set:  # the spec filled: an ordinary spec, printed
        from ..files.io import read_spec
        from ..lang import parse, template
        text, source = read_spec(_spec_path(args.spec))
        filled = template.fill(text, *_filling(args.set, text, source), source=source)
        parse(filled, source)  # checked, at the filled spec's lines
        print(filled, end="")
        return
    if args.json and not args.graph:  # the language alone: no numpy
        from ..files.io import read_spec
        from ..lang import parse, shapes
        text, source = read_spec(_spec_path(args.spec))
        network = parse(text, source)
        try:
            shapes.infer(network)
        except SpecError as e:
            raise e.located(source, text)
        print(json.dumps(_ir_json(network), indent=2))
        return
    from .. import compile
    model = compile(_spec_path(args.spec))
    if args.json:
        print(json.dumps(_ir_json(model.network), indent=2))
    else:
        model.summary()
    if args.graph:
        from ..plots.drawing import draw
        draw(model, args.graph)


def _filling(items, text, source):
    """--set NAME=VALUE items -> ({placeholder: text}, {setting: text})."""
    from ..errors import DataError
    from ..lang import template
    holes = template.placeholders(text, source)
    values, settings = {}, {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals:
            raise DataError(f"--set {item}: write NAME=VALUE, e.g. --set hidden=4")
        key, value = key.strip(), value.strip()
        (values if key in holes else settings)[key] = value
    return values, settings


def _fmt(args):
    from pathlib import Path

    from ..files.io import read_spec, write_atomic
    from ..lang.fmt import fmt
    unformatted = []
    for name in args.specs:
        path = Path(name)
        text, _ = read_spec(path)
        pretty = fmt(text, name)
        if pretty != text:
            unformatted.append(name)
        if args.check:
            continue
        if args.write:
            if pretty != text:
                write_atomic(path, pretty.encode("utf-8"))
        else:
            print(pretty, end="")
    if args.check and unformatted:
        for name in unformatted:
            print(f"{name}: not formatted (nnspec fmt -w {name})", file=sys.stderr)
        return 1


def _spec_path(path):
    from pathlib import Path
    return Path(path)


def _ir_json(network):
    import dataclasses

    from ..lang.ir import Call

    def plain(v):
        if isinstance(v, Call):
            return {"call": v.name, "args": [plain(a) for a in v.args],
                    "kwargs": {k: plain(x) for k, x in v.kwargs}}
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        return v

    nodes = [{"name": n.name, "kind": n.kind, "inputs": list(n.inputs),
              "params": {k: plain(v) for k, v in n.params},
              "line": n.loc.line if n.loc else None} for n in network.nodes]
    train = None
    if network.train is not None:
        train = {f.name: plain(getattr(network.train, f.name))
                 for f in dataclasses.fields(network.train) if f.name != "locs"}
        train["optimizer_options"] = dict(network.train.optimizer_options)
    outputs = [{"name": o.name, "node": o.node, "loss": o.loss, "weight": o.weight,
                "metrics": None if o.metrics is None else list(o.metrics),
                "line": o.loc.line if o.loc else None} for o in network.outputs]
    return {"version": network.version, "nodes": nodes, "outputs": outputs, "train": train}


def _train(args):
    from . import train as run
    return run.train(args)


def _sweep(args):
    from .sweep import sweep
    return sweep(args)


def _infer(args):
    from .. import load
    from ..files import inputs
    from . import report
    if args.engine != "torch" and args.device != "cpu":
        raise NNSpecError("--device is the torch engine's: add --engine torch")
    model = load(args.bundle)
    rows = []
    for path in args.inputs:
        names, x = inputs.load_inputs(model, path, invert=args.invert)
        out = model.predict(x, engine=args.engine, device=args.device)
        rows += report.results(model, names, out, max(args.top, 1))
    print(report.format_rows(rows, args.format))


def _plot(args):
    from .plot import plot
    return plot(args)


def _inspect(args):
    from .. import load
    from . import report
    print(report.inspect(load(args.bundle), args.bundle))


def _lsp(args):
    try:
        import pygls  # noqa: F401 - the optional extra, asked for here alone
    except ImportError:
        raise NNSpecError('nnspec lsp needs the lsp extra: pip install "nnspec[lsp]"') from None
    from ..lsp.server import main
    main()


def _export(args):
    from .. import load
    from ..export import to_onnx, to_torch
    from ..files.io import check_writable
    model = load(args.bundle)
    if args.format == "torch":
        directory = to_torch(model, args.output)
        print(f"wrote {directory / 'model.py'} and {directory / 'model.safetensors'}")
        return
    check_writable(args.output, NNSpecError)
    from ..export.onnx import float64_gaps
    proto = to_onnx(model, args.output, args.dtype)
    print(f"wrote {args.output}" + (f" (float32; the model computes in {model.graph.dtype}: "
                                    "--dtype float64 keeps it)" if args.dtype != model.graph.dtype
                                    and args.dtype == "float32" else ""))
    gaps = float64_gaps(proto)
    if gaps:
        print(f"warning: onnxruntime has no float64 kernel for {', '.join(gaps)}: this file "
              "runs in ONNX runtimes that have one, not in onnxruntime", file=sys.stderr)


def _import(args):
    from .. import compile
    from ..export import from_safetensors
    from ..files.io import check_writable
    check_writable(args.output, NNSpecError)
    model = from_safetensors(compile(_spec_path(args.spec)), args.weights)
    model.save(args.output)
    print(f"wrote {args.output}")


RUN = {"compile": _compile, "fmt": _fmt, "train": _train, "sweep": _sweep, "infer": _infer, "plot": _plot,
       "export": _export, "import": _import, "inspect": _inspect, "lsp": _lsp}
