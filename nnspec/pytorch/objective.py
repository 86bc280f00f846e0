"""A network's objective on the torch engine: each output's loss (its own, with its
weight, training/outputs.py's Plan) and the sums of the numbers training
records (outputs.keys: `loss` and each metric; with several outputs also each
output's `NAME_loss` and `NAME_METRIC`), as one tensor on the device."""
from ..engine import target_scale
from ..training import outputs
from . import losses, metrics


class Objective:
    """value_and_sums(z, targets) for a Plan; z and targets as the Net gives and the
    feed hands them: tensors for one output, {output name: tensor} for several."""

    def __init__(self, torch, graph, plan, scaling=None):
        """scaling: {output: its target scaling} (engine/target_scale.py): those
        outputs learn scaled targets, and their numbers are kept in the targets'
        own units, as training/outputs.py's logged gives them on the numpy engine."""
        self.torch, self.keys = torch, outputs.keys(plan)
        self.many = len(plan.terms) > 1
        self.terms = []
        for term in plan.terms:
            head, names = graph.acts[term.node], list(plan.metrics[term.name])
            # a softmax output's loss reads its logits, and accuracies only the order
            # of the outputs, which the softmax keeps: then training needs no outputs
            bare = head == "softmax" and term.loss == "cross_entropy" and \
                all(metrics.RANKED.fullmatch(k) for k in names)
            stats = (scaling or {}).get(term.name)
            self.terms.append((term, losses.activation(torch, head),
                               losses.function(torch, term.loss, head),
                               losses.per_sample(torch, term.loss, head), metrics.sums(names),
                               bare and stats is None, stats))

    def value_and_sums(self, z, targets, count, training=True, weights=None):
        """(the batch's data loss: each output's mean loss times its weight, summed,
        as a tensor with its graph; the sums of keys over the batch's `count`
        samples, one tensor with no graph). count 0: a process with no share of a
        small last batch, whose loss is a zero that still reaches every output.
        weights: the samples' weights (losses.sample_weights), a tensor, or None."""
        value, shown, parts = None, None, []
        for term, head, loss, per_sample, sums, bare, stats in self.terms:
            zi = z[term.name] if self.many else z
            ti = targets[term.name] if self.many else targets
            out = zi if training and bare else head(zi)
            if not count:
                each = zi.sum() * 0
            elif weights is None:
                each = loss(zi, out, ti)
            else:
                each = (per_sample(zi, out, ti) * weights).mean()
            weighted = each if term.weight == 1.0 else term.weight * each
            value = weighted if value is None else value + weighted
            with self.torch.no_grad():
                each, out = each.detach(), out.detach()
                if stats is not None:  # in the targets' units
                    each = each * target_scale.loss_factor(stats, term.loss)
                    out, ti = (t * stats["std"] + stats["mean"] for t in (out, ti))
                found = [fn(out, ti) for fn in sums]
                part = each if term.weight == 1.0 else term.weight * each
                shown = part if shown is None else shown + part
                parts += ([each * count] if self.many else []) + found
        with self.torch.no_grad():
            # stack promotes the counts to the loss's type: exact below 2^24 samples
            return value, self.torch.stack([shown * count] + parts)
