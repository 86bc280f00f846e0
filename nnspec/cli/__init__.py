"""`nnspec compile | fmt | train | infer | plot | export | inspect | lsp`: argparse
wiring and exit codes only. Each command imports what it needs when it runs, so
`nnspec fmt` and `nnspec compile --json` start without numpy.

A user's mistake prints `error: <where>: <what>` (plus the source line and a
caret for spec errors) on stderr and exits 2; a diverged run exits 1.
"""
import argparse
import json
import sys

from ..errors import NNSpecError, SpecError


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
    args = _parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    from ..files.io import shown
    try:
        return args.run(args) or 0
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


def _parser():
    p = argparse.ArgumentParser(prog="nnspec", description="A small language for neural networks.")
    from .. import __version__
    p.add_argument("--version", action="version", version=f"nnspec {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("compile", help="check a spec and print its summary table")
    c.add_argument("spec", help="a .nn file")
    c.add_argument("--json", action="store_true", help="print the IR as JSON instead")
    c.add_argument("--graph", metavar="FILE.png", help="also draw the network to an image")
    c.set_defaults(run=_compile)

    f = sub.add_parser("fmt", help="print a spec in canonical layout")
    f.add_argument("specs", nargs="+", metavar="SPEC", help=".nn files")
    f.add_argument("-w", "--write", action="store_true", help="rewrite the files in place")
    f.add_argument("--check", action="store_true",
                   help="print nothing; exit 1 if a file is not formatted")
    f.set_defaults(run=_fmt)

    t = sub.add_parser("train", help="train a spec on its data set and save a bundle")
    t.add_argument("spec", help="a .nn file with a train block")
    t.add_argument("-o", "--output", required=True, help="the bundle to write (.nnb)")
    t.add_argument("--epochs", type=int,
                   help="override the train block's epochs (with --resume: the total to reach)")
    t.add_argument("--batch-size", type=int, help="override the train block's batch_size")
    t.add_argument("--lr", type=float, help="the learning rate for every layer (replaces the train block's "
                        "and any layer's own lr=)")
    t.add_argument("--optimizer", help="override the optimizer, e.g. adam or 'sgd(momentum=0.9)'")
    t.add_argument("--seed", type=int, help="override the train block's seed")
    t.add_argument("--data", metavar="DATA",
                   help="override the train block's data: a data set (mnist, 'shapes(500)') or "
                        "a file or folder (digits.npz, iris.csv, photos/)")
    t.add_argument("--checkpoint-dir", metavar="DIR",
                   help="write a resumable bundle to DIR before training and after every epoch")
    t.add_argument("--resume", metavar="DIR_OR_BUNDLE",
                   help="continue from the newest checkpoint in DIR, or from a bundle")
    t.add_argument("--data-dir", metavar="DIR",
                   help="where named data sets (mnist, fashion-mnist) are, or are downloaded to")
    t.add_argument("--log", metavar="FILE", help="append one JSON line of metrics per epoch")
    t.add_argument("--animate", metavar="FILE.gif",
                   help="write a GIF of training: the decision boundary of a two-input "
                        "classifier, else the loss curve")
    t.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    t.add_argument("--print-every", type=_positive, default=1, metavar="N",
                   help="show every N-th epoch's result (and the last's)")
    t.add_argument("--engine", choices=("numpy", "torch"), default="numpy",
                   help="what trains: nnspec's numpy engine, or PyTorch (docs/scale.md)")
    t.add_argument("--device", default="cpu",
                   help="with --engine torch: cpu, cuda or cuda:N")
    t.add_argument("--nproc", type=_positive, default=1, metavar="N",
                   help="with --engine torch: N processes on this machine under torchrun "
                        "(DistributedDataParallel)")
    t.set_defaults(run=_train)

    i = sub.add_parser("infer", help="predict with a trained bundle")
    i.add_argument("bundle", help="a .nnb file")
    i.add_argument("inputs", nargs="+", metavar="INPUT",
                   help=".npy, .npz (array x), .csv, IDX (.gz too) or image files")
    i.add_argument("--format", choices=("text", "json", "csv"), default="text")
    i.add_argument("--top", type=int, default=5, help="how many class probabilities to show")
    i.add_argument("--invert", action="store_true",
                   help="read images as 255 - value: a photo of a dark object on a light "
                   "background, for a model of light-on-dark images (MNIST, Fashion-MNIST)")
    i.add_argument("--engine", choices=("numpy", "torch"), default="numpy",
                   help="what predicts: nnspec's numpy engine, or PyTorch (docs/scale.md)")
    i.add_argument("--device", default="cpu", help="with --engine torch: cpu, cuda or cuda:N")
    i.set_defaults(run=_infer)

    g = sub.add_parser("plot", help="draw a figure of a trained bundle")
    g.add_argument("bundle", help="a .nnb file")
    from ..plots import KINDS  # no matplotlib until a figure is drawn
    g.add_argument("--kind", required=True, choices=KINDS)
    g.add_argument("-o", "--output", required=True, metavar="FILE.png",
                   help="the image to write (.png, .svg or .pdf)")
    g.add_argument("--data", metavar="DATA", help="plot on this data set instead of the bundle's own")
    g.add_argument("--data-dir", metavar="DIR", help="where named data sets are")
    g.add_argument("--split", choices=("test", "validation", "train"),
                   help="which part of the data (default: test, else validation, else train)")
    g.add_argument("--layer", action="append", help="kernels: only this conv layer (repeatable)")
    g.add_argument("--count", type=int, default=16, help="predictions: how many images")
    g.add_argument("--index", type=int, default=0,
                   help="predictions, probabilities: the first sample to show")
    g.set_defaults(run=_plot)

    e = sub.add_parser("export", help="write a trained bundle as ONNX, or as PyTorch code "
                                      "and safetensors weights")
    e.add_argument("bundle", help="a .nnb file")
    e.add_argument("-o", "--output", required=True, metavar="FILE.onnx | DIR",
                   help="the ONNX file, or with --format torch the folder for model.py and "
                        "model.safetensors")
    e.add_argument("--format", choices=("onnx", "torch"), default="onnx")
    e.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="ONNX: the graph's float type (float32 runs everywhere; a float64 "
                        "model's weights are rounded to it)")
    e.set_defaults(run=_export)

    m = sub.add_parser("import", help="bring weights trained elsewhere (safetensors) back "
                                      "into a bundle")
    m.add_argument("weights", help="a .safetensors file, as `nnspec export --format torch` "
                                   "writes it")
    m.add_argument("--spec", required=True, help="the .nn file the weights belong to")
    m.add_argument("-o", "--output", required=True, help="the bundle to write (.nnb)")
    m.set_defaults(run=_import)

    s = sub.add_parser("inspect", help="print a bundle's metadata, summary and history")
    s.add_argument("bundle", help="a .nnb file")
    s.set_defaults(run=_inspect)

    ls = sub.add_parser("lsp", help="run the language server on stdin and stdout, for "
                                    "editors (needs nnspec[lsp])")
    ls.add_argument("--stdio", action="store_true", help="accepted for editors that pass it; "
                    "stdio is the only transport")
    ls.set_defaults(run=_lsp)
    return p


def _compile(args):
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


def _positive(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


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
    return {"version": network.version, "nodes": nodes, "outputs": list(network.outputs),
            "train": train}


def _train(args):
    from . import train as run
    return run.train(args)


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
