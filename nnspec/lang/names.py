"""The names a spec may use for activations and weight initializers, and how
an `init=` option is read. The engine implements each (engine/activations.py,
engine/init.py); a test checks that the two lists agree."""
from .ir import Call
from .signature import suggest

ACTIVATIONS = ("linear", "relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid", "softplus",
               "silu", "softmax")
INITIALIZERS = ("glorot_uniform", "xavier", "xavier_uniform", "glorot_normal", "xavier_normal",
                "he_uniform", "he", "he_normal", "lecun", "lecun_normal", "lecun_uniform",
                "zeros", "ones")
SCALED = {"normal": "std", "uniform": "limit"}  # init=normal(std), init=uniform(limit)


def read_initializer(form, value):
    """The `init=` option as written -> a name or Call, or ValueError saying why."""
    if form == "name":
        if value not in INITIALIZERS:
            raise ValueError(f"unknown initializer '{value}'{suggest(value, INITIALIZERS)} "
                             f"(one of: {', '.join(INITIALIZERS)}, "
                             "normal(STD), uniform(LIMIT))")
        return value
    if form == "call" and value.name in SCALED:
        args = value.args + tuple(v for _, v in value.kwargs)
        if len(args) == 1 and isinstance(args[0], (int, float)) and args[0] > 0 \
                and not isinstance(args[0], bool) \
                and all(k == SCALED[value.name] for k, _ in value.kwargs):
            return Call(value.name, (float(args[0]),))
    raise ValueError(f"expected an initializer name or normal(STD) / uniform(LIMIT) with a "
                     f"positive number, got {value}")
