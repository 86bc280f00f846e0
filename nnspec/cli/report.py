"""What `nnspec infer` and `nnspec inspect` print: class probabilities per input
(text, JSON or CSV) and a bundle's metadata, summary table and history. Text
from a file (class names, history keys) is printed escaped."""
import csv
import io
import json

import numpy as np

from ..engine import preprocess
from ..engine.losses import REGRESSION
from ..engine.summary import table
from ..errors import shown
from ..files.bundle import VERSION


def results(model, names, out, top=5):
    """Per sample: {'input', 'class', 'index', 'probabilities'} or {'input', 'values'};
    with several outputs, a row for each sample and output, with its 'output'."""
    if not isinstance(out, dict):
        term = model.plan.terms[0]
        return _rows(names, out, term.loss, model.output_classes[term.name], top)
    rows = []
    for term in model.plan.terms:
        for row in _rows(names, out[term.name], term.loss, model.output_classes[term.name], top):
            rows.append({"input": row.pop("input"), "output": term.name, **row})
    return rows


def _rows(names, out, loss, classes, top):
    rows = []
    if out.shape[-1] == 1 and loss == "binary_cross_entropy":
        out = np.concatenate([1 - out, out], axis=-1)  # one sigmoid: the second class's odds
    if out.shape[-1] == 1 or (loss in REGRESSION and not classes):
        for name, row in zip(names, out):
            rows.append({"input": name, "values": [float(v) for v in np.ravel(row)]})
        return rows
    classes = classes or tuple(str(i) for i in range(out.shape[-1]))
    for name, row in zip(names, out):
        order = np.argsort(-row, kind="stable")[:top]
        rows.append({"input": name, "class": classes[int(order[0])], "index": int(order[0]),
                     "probabilities": {classes[int(i)]: float(row[i]) for i in order}})
    return rows


def format_rows(rows, fmt):
    """rows -> text. Class names come from a file, so the text and CSV forms escape
    their control characters (a terminal escape sequence prints as `\x1b[2J`);
    JSON escapes them itself."""
    if fmt == "json":
        return json.dumps(rows, indent=2)
    rows = [_printable(r) for r in rows]
    if fmt == "csv" and rows and "output" in rows[0]:
        return _outputs_csv(rows)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        if rows and "values" in rows[0]:
            writer.writerow(["input"] + [f"value{i}" for i in range(len(rows[0]["values"]))])
            writer.writerows([[r["input"]] + [f"{v:.6g}" for v in r["values"]] for r in rows])
        else:  # the top classes, most likely first: as many as --top asked for
            top = max((len(r["probabilities"]) for r in rows), default=1)
            writer.writerow(["input", "class", "probability"] + [
                f"{what}_{k}" for k in range(2, top + 1) for what in ("class", "probability")])
            for r in rows:
                ranked = [x for c, p in r["probabilities"].items() for x in (c, f"{p:.6f}")]
                writer.writerow([r["input"]] + ranked)
        return buf.getvalue().rstrip("\n")
    lines = []
    for r in rows:
        head = f"{r['input']} {r['output']}" if "output" in r else r["input"]
        if "values" in r:
            lines.append(f"{head}: " + " ".join(f"{v:.6g}" for v in r["values"]))
            continue
        probs = "  ".join(f"{k} {v:.3f}" for k, v in r["probabilities"].items())
        lines.append(f"{head}: {r['class']}  ({probs})")
    return "\n".join(lines)


def _outputs_csv(rows):
    """Several outputs: a row per sample and output; a class and its probability,
    or the values, space-separated."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["input", "output", "class", "probability", "values"])
    for r in rows:
        if "values" in r:
            writer.writerow([r["input"], r["output"], "", "",
                             " ".join(f"{v:.6g}" for v in r["values"])])
        else:
            writer.writerow([r["input"], r["output"], r["class"],
                             f"{r['probabilities'][r['class']]:.6f}", ""])
    return buf.getvalue().rstrip("\n")


def _printable(row):
    out = {**row, "input": shown(row["input"], 1000)}
    if "class" in row:
        out["class"] = shown(row["class"])
        out["probabilities"] = {shown(k): v for k, v in row["probabilities"].items()}
    return out


def _trained(trained):
    if not trained:
        return "-"
    many = trained["processes"]
    return (f"by the {shown(trained['engine'])} engine on {shown(trained['device'])}"
            + (f", {many} processes" if many > 1 else ""))


def _ends(model):
    """inspect's lines on the inputs (shape, preprocessing) and the outputs (shape,
    loss, weight, classes); a network of one of each keeps its two lines."""
    graph = model.graph
    if len(graph.inputs) == 1 and len(graph.outputs) == 1:
        classes = model.classes
        return [f"classes     {shown(', '.join(classes), 2000) if classes else '-'}",
                f"preprocess  {preprocess.describe(model.preprocess)}"]
    lines = ["inputs"]
    for name in graph.inputs:
        lines.append(f"  {name:<10} {'x'.join(map(str, graph.input_shapes[name])):<10} "
                     f"{preprocess.describe(model.preprocessing[name])}")
    lines.append("outputs")
    for term in model.plan.terms:
        classes = model.output_classes[term.name]
        named = f"; classes {shown(', '.join(classes), 2000)}" if classes else ""
        lines.append(f"  {term.name:<10} {'x'.join(map(str, graph.shapes[term.node])):<10} "
                     f"loss {term.loss}, weight {term.weight:g}{named}")
    return lines


def inspect(model, path):
    """The text `nnspec inspect` prints: metadata, summary table, history."""
    meta = model.meta
    lines = [f"bundle      {shown(path)}",
             f"format      nnspec-bundle {meta.get('format', '.'.join(map(str, VERSION)))}",
             f"written by  nnspec {shown(meta.get('nnspec'))}, numpy {shown(meta.get('numpy'))}, "
             f"{shown(meta.get('created'))}",
             f"dtype       {model.graph.dtype.name}",
             f"trained     {_trained(meta.get('trained'))}",
             *_ends(model), "", table(model.graph, model.weights, model.plan.terms)]
    history = {shown(k, 40): v for k, v in model.history.items()}
    epochs = {k: v for k, v in history.items() if not k.startswith("test_")}
    if epochs:
        keys = list(epochs)
        lines += ["", "history", "epoch  " + "  ".join(f"{k:>12}" for k in keys)]
        for i in range(max(len(v) for v in epochs.values())):
            lines.append(f"{i + 1:>5}  " + "  ".join(
                f"{epochs[k][i]:>12{'.4g' if k == 'lr' else '.4f'}}" if i < len(epochs[k])
                else " " * 12 for k in keys))
    tests = {k: v[-1] for k, v in history.items() if k.startswith("test_") and v}
    if tests:
        lines.append("test   " + "  ".join(f"{k[5:]} {v:.4f}" for k, v in tests.items()))
    return "\n".join(lines)
