"""`nnspec`'s command line: one builder a subcommand, each its flags and help.
cli/__init__.py runs the subcommand a parse names (args.command)."""
import argparse


def build():
    p = argparse.ArgumentParser(prog="nnspec", description="A small language for neural networks.")
    from .. import __version__
    p.add_argument("--version", action="version", version=f"nnspec {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_compile, _fmt, _train, _sweep, _infer, _plot, _export, _import, _inspect,
                _lsp):
        add(sub)
    return p


def positive(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def _compile(sub):
    c = sub.add_parser("compile", help="check a spec and print its summary table")
    c.add_argument("spec", help="a .nn file")
    c.add_argument("--json", action="store_true", help="print the IR as JSON instead")
    c.add_argument("--graph", metavar="FILE.png", help="also draw the network to an image")
    c.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="fill a {placeholder}, or write a train setting (repeatable), and "
                        "print the filled spec: an ordinary one, without its sweep block")


def _fmt(sub):
    f = sub.add_parser("fmt", help="print a spec in canonical layout")
    f.add_argument("specs", nargs="+", metavar="SPEC", help=".nn files")
    f.add_argument("-w", "--write", action="store_true", help="rewrite the files in place")
    f.add_argument("--check", action="store_true",
                   help="print nothing; exit 1 if a file is not formatted")


def _train(sub):
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
    t.add_argument("--init-from", metavar="BUNDLE",
                   help="start from another bundle's weights, layer by layer by name "
                        "(replaces the train block's init_from; docs/fine-tuning.md)")
    t.add_argument("--unfreeze", nargs="*", metavar="LAYER",
                   help="train these layers or block instances although the spec says "
                        "trainable=false (none named: every layer)")
    t.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="any train setting, as the train block writes it (repeatable): "
                        "--set l2=1e-4 --set 'schedule=cosine(warmup=100)'")
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
    t.add_argument("--print-every", type=positive, default=1, metavar="N",
                   help="show every N-th epoch's result (and the last's)")
    t.add_argument("--engine", choices=("numpy", "torch"), default="numpy",
                   help="what trains: nnspec's numpy engine, or PyTorch (docs/scale.md)")
    t.add_argument("--device", default="cpu",
                   help="with --engine torch: cpu, cuda or cuda:N")
    t.add_argument("--nproc", type=positive, default=1, metavar="N",
                   help="with --engine torch: N processes on this machine under torchrun "
                        "(DistributedDataParallel)")


def _sweep(sub):
    w = sub.add_parser("sweep", help="train many runs of a spec, the spaces of its sweep "
                                     "block, on an Optuna study (needs nnspec[sweep])")
    w.add_argument("spec", help="a .nn file with a sweep block")
    w.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="the folder for study.db, trials.csv, trials.jsonl and best.nnb")
    w.add_argument("--jobs", type=positive, default=1, metavar="N",
                   help="N trials at a time, each in a process with one BLAS thread")
    w.add_argument("--trials", type=int, metavar="N",
                   help="the number of trials to reach, over every process on the study "
                        "(replaces the sweep block's trials)")
    w.add_argument("--storage", metavar="URL",
                   help="an Optuna storage: a database URL (postgresql://..., mysql://...) or "
                        "a journal file (.log, .journal) that many machines share; default: "
                        "sqlite in DIR/study.db")
    w.add_argument("--study", metavar="NAME", help="the study's name (default: the spec's "
                   "file name without .nn)")
    w.add_argument("--keep", choices=("best", "all"), default="best",
                   help="all: every trial's bundle as DIR/trial-NNN.nnb, beside best.nnb")
    w.add_argument("--data-dir", metavar="DIR", help="where named data sets are")
    w.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    w.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)


def _infer(sub):
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


def _plot(sub):
    g = sub.add_parser("plot", help="draw a figure of a trained bundle, or of a sweep's "
                                    "folder (--kind sweep, params)")
    g.add_argument("bundle", help="a .nnb file, or a sweep's folder")
    from ..plots import KINDS  # no matplotlib until a figure is drawn
    g.add_argument("--kind", required=True, choices=KINDS)
    g.add_argument("-o", dest="file", metavar="FILE.png",
                   help="the image to write (.png, .svg or .pdf)")
    g.add_argument("--output", metavar="NAME",
                   help="which output to draw, for a network of several (history: only its "
                        "curves)")
    g.add_argument("--data", metavar="DATA", help="plot on this data set instead of the bundle's own")
    g.add_argument("--data-dir", metavar="DIR", help="where named data sets are")
    g.add_argument("--split", choices=("test", "validation", "train"),
                   help="which part of the data (default: test, else validation, else train)")
    g.add_argument("--layer", action="append", help="kernels: only this conv layer (repeatable)")
    g.add_argument("--count", type=int, default=16, help="predictions: how many images")
    g.add_argument("--index", type=int, default=0,
                   help="predictions, probabilities: the first sample to show")
    g.add_argument("--color", metavar="PARAM",
                   help="sweep: the parameter that colours the curves (default: the first)")
    g.add_argument("--metric", help="sweep: the curve to draw (default: the objective's "
                   "metric)")


def _export(sub):
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


def _import(sub):
    m = sub.add_parser("import", help="bring weights trained elsewhere (safetensors) back "
                                      "into a bundle")
    m.add_argument("weights", help="a .safetensors file, as `nnspec export --format torch` "
                                   "writes it")
    m.add_argument("--spec", required=True, help="the .nn file the weights belong to")
    m.add_argument("-o", "--output", required=True, help="the bundle to write (.nnb)")


def _inspect(sub):
    s = sub.add_parser("inspect", help="print a bundle's metadata, summary and history")
    s.add_argument("bundle", help="a .nnb file")


def _lsp(sub):
    ls = sub.add_parser("lsp", help="run the language server on stdin and stdout, for "
                                    "editors (needs nnspec[lsp])")
    ls.add_argument("--stdio", action="store_true", help="accepted for editors that pass it; "
                    "stdio is the only transport")
