"""What the language knows of a layer kind: how it is written, the shape it
gives, and the weights it holds. Plain data and pure functions, no numpy.

    shape(p, in_shape) -> out_shape           raises ShapeProblem("needs ...")
    weights(p, in_shape) -> ((short name, shape, role), ...)

`p` is the node's parameter dict; shapes exclude the batch axis. A kind
declares its weights without allocating anything, and the engine's init must
make exactly those. The role says what a weight is for, and everything that
cares asks the role, never the name (ROLES): penalties, weight decay, what is
trained, what a bundle must hold. Weights of role "statistic" (batch norm's
running statistics) are not trained: backward gives no gradient for them, and
forward updates them in place while training. They are saved with the others.
"""
from dataclasses import dataclass
from typing import Callable, NamedTuple

from ..names import ACTIVATIONS, read_initializer
from ..signature import Opt, Signature, Word

# role -> what it is for (Role).
# l1=/l2= reach every weight matrix (kernels, recurrent kernels, embedding
# tables), l1_bias=/l2_bias= every bias; norm scales and shifts and running
# statistics take no penalty, as in Keras and PyTorch's usual parameter groups.
class Role(NamedTuple):
    penalties: tuple  # the l1 and l2 options that penalise it
    decayed: bool  # whether decoupled weight decay (AdamW, SGD's weight_decay) reaches it
    trained: bool  # whether an optimizer updates it


ROLES = {
    "kernel": Role(("l1", "l2"), True, True),
    "recurrent": Role(("l1", "l2"), True, True),
    "embedding": Role(("l1", "l2"), True, True),
    "bias": Role(("l1_bias", "l2_bias"), False, True),
    "norm": Role((), False, True),
    "statistic": Role((), False, False),
}


class ShapeProblem(ValueError):
    """Raised by a shape rule; shapes.py adds the layer, location and input."""


@dataclass(frozen=True)
class Kind:
    signature: Signature
    shape: Callable
    weights: Callable = None  # None: the kind has no weights
    merge: bool = False  # takes several inputs, and its shape rule a list of shapes
    # a small spec that uses the kind: the tests check its gradients, shapes,
    # printing and saving from it, and the property tests grow networks from it
    example: str = None
    # what it does with a mask over its input's steps (embedding mask_zero=true;
    # lang/masks.py): masking(p) -> True where its output carries the mask on
    # (mask_passes), False where it reads the mask and ends it (mask_ends); None: it cannot
    # see which steps are masked, so a masked input is an error at its line
    masking: Callable = None


def mask_passes(p):
    """A per-step layer: the output's steps are the input's, so is their mask."""
    return True


def mask_ends(p):
    """A layer that reads the mask and gives no steps (a last state, a global pool)."""
    return False


ACTIVATION = Word("activation", "choice", ACTIVATIONS, default="linear")

WEIGHT_OPTIONS = (
    Opt("lr", float, None, minimum=0.0),
    Opt("l1", float, None, minimum=0.0),
    Opt("l2", float, None, minimum=0.0),
    Opt("l1_bias", float, None, minimum=0.0),
    Opt("l2_bias", float, None, minimum=0.0),
    Opt("init", str, None, read=read_initializer),
    Opt("bias_init", str, None, read=read_initializer),
    Opt("bias", bool, True),
)


# trainable=false freezes a layer's weights (training/penalties.py leaves them out;
# engine/graph.py gives them no gradient, and a frozen batch norm normalises by its
# running statistics); kinds/__init__.py gives it to every kind with weights
TRAINABLE = Opt("trainable", bool, True)


def kernel_and_bias(p, shape):
    """The declaration of a weight matrix W of `shape` and, unless bias=false, its bias b."""
    return (("W", tuple(shape), "kernel"),) + ((("b", (shape[-1],), "bias"),)
                                               if p.get("bias", True) else ())


def fmt_shape(shape):
    return "x".join(str(d) for d in shape)
