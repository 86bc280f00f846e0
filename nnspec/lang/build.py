"""Syntax tree -> ir.Network: names resolved, blocks and repeats expanded.

The IR is flat: a block call becomes its layers, named `<instance>/<name>`
(`res1/conv1`), so parameter names (`res1/conv1.W`) say where they live. A
layer takes its input from the element before it; a new line without `->`
continues from the last layer; a bare name refers to an earlier layer, so a
chain can start anywhere (`stem -> conv 1x1x8`). Merges list their inputs,
`add(a, b)`, and after `->` the previous layer is their first input.
Only earlier layers can be referred to, so a graph cannot have a cycle.
"""
from ..errors import SpecError
from . import endpoints, ir, tree
from .kinds import KINDS
from .scope import Scope, arguments
from .scope import fail as _fail
from .scope import substitute
from .settings import train_config
from .signature import bind, suggest
from .syntax import syntax

RESERVED = ("in", "input")
# Bounds on what a spec can ask for, checked as it is expanded, so that a typo
# such as `(dense 2) x1000000` is an error at once. A 10,000-layer spec builds
# in a fraction of a second; these are ten times that, and far deeper nesting
# than any real network has.
MAX_LAYERS = 100_000
MAX_DEPTH = 100  # groups within groups, blocks calling blocks


def parse(text, source="<spec>"):
    """Spec text -> ir.Network. Raises SpecError (with file, line and column)."""
    statements = syntax(text, source)
    try:
        return build(statements)
    except SpecError as e:
        raise e.located(source, text)


def build(statements):
    return _Builder(statements).network()


class _Builder:
    def __init__(self, statements):
        self.nodes = []
        self.by_name = {}
        self.train = None
        self.version = 1
        self.blocks = {}
        self.expanding = []
        self.depth = 0  # groups and block calls being expanded
        self.steps = 0  # elements expanded, bounded with the layers (references add none)
        self.bound = {}  # (kind, words, options) -> its parameters, bound once
        self.statements = statements
        self.later = {}  # top-level labels, to tell "defined later" from "undefined"
        for st in statements:
            if isinstance(st, tree.Block):
                self._define(st)
            elif isinstance(st, tree.Chain):
                for el in st.elements:
                    if isinstance(el, tree.Labeled):
                        self.later.setdefault(el.name, el.loc)

    def network(self):
        top = Scope()
        declared = []  # the output statements, resolved once every layer exists
        for i, st in enumerate(self.statements):
            if isinstance(st, tree.Header):
                self._header(st, i == 0)
            elif isinstance(st, tree.Input):
                self._input(st, top)
            elif isinstance(st, tree.Chain):
                self._chain(st, top)
            elif isinstance(st, tree.Train):
                if self.train is not None:
                    _fail("a second 'train' block", st.loc)
                self.train = train_config(st)
            elif isinstance(st, tree.Output):
                declared.append(st)
        inputs = [n for n in self.nodes if n.kind == "input"]
        if not inputs:
            _fail("the spec has no 'input' line; start it with e.g. 'input 28x28x1'", None)
        if len(self.nodes) == len(inputs):
            _fail("the spec has no layers after its input", inputs[-1].loc)
        outs = endpoints.outputs(declared, lambda name, loc: self._output(name, loc, top),
                                 self.nodes[-1])
        endpoints.check_used(self.nodes, outs)
        return ir.Network(tuple(self.nodes), outs, self.train, self.version)

    # -- statements --------------------------------------------------------

    def _header(self, st, first):
        if not first:
            _fail("the 'nnspec' version line must come first", st.loc)
        if st.version != 1:
            _fail(f"this nnspec reads version 1 specs, not version {st.version}", st.loc)
        self.version = st.version

    def _input(self, st, scope):
        node = endpoints.input_node(st, [n for n in self.nodes if n.kind == "input"])
        if node.name in scope.names:
            _fail(f"the name '{node.name}' is taken by a layer", st.name_loc or st.loc)
        self._add(node)
        scope.names[node.name] = node.name
        scope.tail = node.name
        if st.chain is not None:  # input 28x28x1 -> conv ...
            self._chain(st.chain, scope)

    def _define(self, st):
        if st.name in self.blocks:
            _fail(f"block '{st.name}' is defined twice (first at line "
                  f"{self.blocks[st.name].loc.line})", st.loc)
        if st.name in KINDS:
            _fail(f"'{st.name}' is a layer kind; a block needs another name", st.loc)
        seen = set()
        for param in st.params:
            if param.name in seen:
                _fail(f"block '{st.name}' has two parameters named '{param.name}'", param.loc)
            seen.add(param.name)
        self.blocks[st.name] = st

    def _chain(self, chain, scope):
        prev = scope.tail
        for i, el in enumerate(chain.elements):
            prev = self._element(el, scope, prev, after_arrow=chain.continued or i > 0)
        scope.tail = prev

    # -- elements ----------------------------------------------------------

    def _element(self, el, scope, prev, after_arrow, label=None):
        self.steps += 1
        if self.steps > 2 * MAX_LAYERS:
            _fail(f"the network expands to more than {MAX_LAYERS:,} layers and references",
                  el.loc)
        if isinstance(el, tree.Labeled):
            if isinstance(el.element, tree.Group):
                _fail(f"a repeated group cannot be named ('{el.name}'); name a block call "
                      "instead", el.loc)
            return self._element(el.element, scope, prev, after_arrow, el)
        if isinstance(el, tree.Group):
            return self._group(el, scope, prev, after_arrow)
        if isinstance(el, tree.Apply):
            return self._call(el, scope, prev, after_arrow, label)
        kind, loc = el.kind, el.loc
        if not el.words and not el.options and kind not in KINDS:
            if label:
                _fail(f"'{label.name}: {kind}' names a reference; name the layer where it is "
                      "defined", label.loc)
            return self._resolve(kind, loc, scope)
        layer = KINDS.get(kind)
        if layer is None:
            _fail(f"unknown layer '{kind}'{suggest(kind, KINDS)}; "
                  f"expected a layer, one of: {', '.join(KINDS)}", loc)
        if layer.merge:
            _fail(f"{kind} takes its inputs in parentheses: {kind}(a, b)", loc)
        if prev is None:
            _fail("layers must come after the 'input' line", loc)
        return self._layer(kind, loc, el.words, el.options, scope, (prev,), label)

    def _layer(self, kind, loc, words, options, scope, inputs, label):
        words = tuple(substitute(w, scope) for w in words)
        options = tuple(o._replace(value=substitute(o.value, scope)) for o in options)
        key = (kind, words, options)  # a repeated group binds the same words again
        params = self.bound.get(key)
        if params is None:
            params = self.bound[key] = tuple(sorted(bind(
                kind, KINDS[kind].signature, words, options, loc, known_kinds=KINDS).items()))
        name = self._name(kind, scope, label)
        self._add(ir.Node(name, kind, params, tuple(inputs), loc))
        return name

    def _group(self, el, scope, prev, after_arrow):
        count, loc = el.count, el.loc
        if count < 1:
            _fail(f"a group repeats at least once, got x{count}", loc)
        if count > MAX_LAYERS:
            _fail(f"a group repeats at most {MAX_LAYERS:,} times, got x{count}", loc)
        labels = [e for e in el.chain.elements if isinstance(e, tree.Labeled)]
        if labels and count > 1:
            _fail(f"'{labels[0].name}' is inside a group repeated x{count}, so it would name "
                  f"{count} layers; use a block", labels[0].loc)
        self._enter(loc)
        for _ in range(count):
            for j, sub in enumerate(el.chain.elements):
                prev = self._element(sub, scope, prev, after_arrow or j > 0)
        self.depth -= 1
        return prev

    def _enter(self, loc):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            _fail(f"groups and block calls nest more than {MAX_DEPTH} deep", loc)

    def _call(self, el, scope, prev, after_arrow, label):
        name, loc = el.name, el.loc
        layer = KINDS.get(name)
        if layer is not None and layer.merge:
            inputs = []
            for arg in el.args:
                if arg.key is not None or arg.value.form != "name":
                    _fail(f"{name} takes the names of earlier layers, e.g. {name}(a, b)",
                          arg.value.loc)
                inputs.append(self._resolve(arg.value.value, arg.value.loc, scope))
            if after_arrow and prev not in inputs:
                inputs.insert(0, prev)
            if len(inputs) < 2:
                _fail(f"{name} needs at least two inputs, got {len(inputs)} (a merge takes the "
                      "layers it lists, and the one before it when it follows '->')", loc)
            if len(set(inputs)) < len(inputs):
                _fail(f"{name} lists the same layer twice", loc)
            return self._layer(name, loc, el.words, el.options, scope, inputs, label)
        if name in self.blocks:
            if el.words or el.options:
                _fail(f"block '{name}' takes its values as arguments: {name}(...)",
                      (el.words or el.options)[0].loc)
            return self._expand(name, loc, el.args, scope, prev, label)
        if layer is not None:
            _fail(f"'{name}' is a layer, not a block; write its words without parentheses", loc)
        known = list(self.blocks) + [k for k, t in KINDS.items() if t.merge]
        _fail(f"unknown block or merge '{name}'{suggest(name, known)} "
              f"(known: {', '.join(known)})", loc)

    def _expand(self, name, loc, args, scope, prev, label):
        block = self.blocks[name]
        if name in self.expanding:
            _fail(f"block '{name}' calls itself (through {' -> '.join(self.expanding)})", loc)
        bound = {k: substitute(v, scope) for k, v in
                 arguments(name, [p.name for p in block.params], args, loc).items()}
        instance = self._name(name, scope, label)
        inner = Scope(instance + "/", bound, prev, name)
        self.expanding.append(name)
        self._enter(loc)
        for chain in block.chains:
            self._chain(chain, inner)
        self.depth -= 1
        self.expanding.pop()
        if inner.tail == prev:
            _fail(f"block '{name}' has no layers", loc)
        local = instance[len(scope.prefix):]
        scope.names[local] = inner.tail  # the instance's name refers to its output
        return inner.tail

    # -- names -------------------------------------------------------------

    def _resolve(self, name, loc, scope):
        if scope.input is not None and name == "in":
            return scope.input
        if name in scope.names:
            return scope.names[name]
        if not scope.prefix and name in self.later:
            _fail(f"'{name}' is defined later (line {self.later[name].line}); a layer can only "
                  "take inputs from layers before it, so a graph cannot have a cycle", loc)
        visible = list(scope.names) + (["in"] if scope.input is not None else [])
        _fail(f"'{name}' is neither a layer kind nor a layer defined before this point"
              f"{suggest(name, visible + list(KINDS))}", loc)

    def _output(self, name, loc, scope):
        """The node an `output NAME` line names: a layer, block call or input."""
        if name not in scope.names:
            _fail(f"output '{name}' names no layer{suggest(name, scope.names)}; an output "
                  "line names a layer (name: dense ...) or a block call written before it",
                  loc)
        return scope.names[name]

    def _name(self, kind, scope, label):
        if label is not None:  # the tree.Labeled that names it
            name, loc = label.name, label.loc
            if name in RESERVED or name in KINDS or name in self.blocks:
                what = "a layer kind" if name in KINDS else \
                    "a block" if name in self.blocks else "reserved"
                _fail(f"'{name}' is {what}; a layer needs another name", loc)
            if name in scope.names:
                first = self.by_name[scope.names[name]].loc
                _fail(f"the name '{name}' is taken (line {first.line if first else '?'})", loc)
            scope.names[name] = scope.prefix + name
            return scope.prefix + name
        while True:
            scope.counts[kind] = scope.counts.get(kind, 0) + 1
            local = f"{kind}{scope.counts[kind]}"
            if local not in scope.names and local not in self.later:
                break
        scope.names[local] = scope.prefix + local
        return scope.prefix + local

    def _add(self, node):
        if len(self.nodes) > MAX_LAYERS:
            _fail(f"the network has more than {MAX_LAYERS:,} layers", node.loc)
        self.nodes.append(node)
        self.by_name[node.name] = node
