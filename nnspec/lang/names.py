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
# init=normal(std); init=uniform(limit) on [-limit, limit], or uniform(low, high)
SCALED = {"normal": "std", "uniform": "limit"}


def read_initializer(form, value):
    """The `init=` (or `bias_init=`) option as written -> a name or Call, or
    ValueError saying why."""
    if form == "name":
        if value not in INITIALIZERS:
            raise ValueError(f"unknown initializer '{value}'{suggest(value, INITIALIZERS)} "
                             f"(one of: {', '.join(INITIALIZERS)}, "
                             "normal(STD), uniform(LIMIT), uniform(LOW, HIGH))")
        return value
    if form == "call" and value.name in SCALED:
        args = value.args + tuple(v for _, v in value.kwargs)
        numbers = all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args)
        named = all(k == SCALED[value.name] for k, _ in value.kwargs)
        if numbers and named and len(args) == 1 and args[0] > 0:
            return Call(value.name, (float(args[0]),))
        if numbers and not value.kwargs and value.name == "uniform" and len(args) == 2 \
                and args[0] < args[1]:
            return Call(value.name, (float(args[0]), float(args[1])))
    raise ValueError(f"expected an initializer name, normal(STD) or uniform(LIMIT) with a "
                     f"positive number, or uniform(LOW, HIGH) with LOW < HIGH, got {value}")
