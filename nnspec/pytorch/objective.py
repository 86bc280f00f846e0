"""A network's objective on the torch engine: each output's loss (its own, with its
weight, training/outputs.py's Plan) and the sums of the numbers training
records (outputs.keys: `loss` and each metric; with several outputs also each
output's `NAME_loss` and `NAME_METRIC`), as one tensor on the device."""
from ..training import outputs
from . import losses, metrics


class Objective:
    """value_and_sums(z, targets) for a Plan; z and targets as the Net gives and the
    feed hands them: tensors for one output, {output name: tensor} for several."""

    def __init__(self, torch, graph, plan):
        self.torch, self.keys = torch, outputs.keys(plan)
        self.many = len(plan.terms) > 1
        self.terms = []
        for term in plan.terms:
            head, names = graph.acts[term.node], list(plan.metrics[term.name])
            # a softmax output's loss reads its logits, and accuracies only the order
            # of the outputs, which the softmax keeps: then training needs no outputs
            bare = head == "softmax" and term.loss == "cross_entropy" and \
                all(metrics.RANKED.fullmatch(k) for k in names)
            self.terms.append((term, losses.activation(torch, head),
                               losses.function(torch, term.loss, head), metrics.sums(names),
                               bare))

    def value_and_sums(self, z, targets, count, training=True):
        """(the batch's data loss: each output's mean loss times its weight, summed,
        as a tensor with its graph; the sums of keys over the batch's `count`
        samples, one tensor with no graph). count 0: a process with no share of a
        small last batch, whose loss is a zero that still reaches every output."""
        value, parts = None, []
        for term, head, loss, sums, bare in self.terms:
            zi = z[term.name] if self.many else z
            ti = targets[term.name] if self.many else targets
            out = zi if training and bare else head(zi)
            each = loss(zi, out, ti) if count else zi.sum() * 0
            weighted = each if term.weight == 1.0 else term.weight * each
            value = weighted if value is None else value + weighted
            with self.torch.no_grad():
                found = [fn(out.detach(), ti) for fn in sums]
                parts += ([each.detach() * count] if self.many else []) + found
        with self.torch.no_grad():
            # stack promotes the counts to the loss's type: exact below 2^24 samples
            return value, self.torch.stack([value.detach() * count] + parts)
