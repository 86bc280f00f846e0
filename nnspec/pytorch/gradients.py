"""Penalties and clipping on the torch engine's gradients, with PyTorch's
multi-tensor (foreach) operations over lists of parameters: what
training/loop.py's regularize and clip do, without reading anything from the
device (the clip's condition is a torch.where)."""


class Penalties:
    """l1 sum|w| + l2 sum w^2 over the parameters that have them. names: the
    parameters in the step's order; l1s, l2s: their coefficients."""

    def __init__(self, torch, names, l1s, l2s, device, dtype):
        self.torch = torch
        self.l1 = [i for i, c in enumerate(l1s) if c]
        self.l2 = [i for i, c in enumerate(l2s) if c]
        self.c1 = [l1s[i] for i in self.l1]
        self.c2 = [l2s[i] for i in self.l2]
        self.t1 = torch.tensor(self.c1, dtype=dtype, device=device)
        self.t2 = torch.tensor(self.c2, dtype=dtype, device=device)

    def __bool__(self):
        return bool(self.l1 or self.l2)

    def apply(self, ws, gs):
        """Add each penalty's gradient to gs (l1 then l2, as numpy does); returns
        the penalty as a 0-d tensor."""
        torch, terms = self.torch, []
        if self.l1:
            w1 = [ws[i] for i in self.l1]
            terms.append(torch.stack(torch._foreach_norm(w1, 1)) @ self.t1)
            torch._foreach_add_([gs[i] for i in self.l1],
                                torch._foreach_mul(torch._foreach_sign(w1), self.c1))
        if self.l2:
            w2 = [ws[i] for i in self.l2]
            squares = torch.stack(torch._foreach_norm(w2, 2)) ** 2
            terms.append(squares @ self.t2)
            torch._foreach_add_([gs[i] for i in self.l2],
                                torch._foreach_mul(w2, [2 * c for c in self.c2]))
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]


def clip(torch, gs, max_norm):
    """Scale all gradients together so their global L2 norm is at most max_norm
    (training/loop.clip): the factor is 1 where the norm is below it."""
    norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(gs, 2)))
    torch._foreach_mul_(gs, torch.where(norm > max_norm, max_norm / (norm + 1e-6),
                                        torch.ones_like(norm)))
