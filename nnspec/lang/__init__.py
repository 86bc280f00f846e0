"""The language: spec text -> checked IR. Free of numpy and of the kernels.

grammar (nnspec.lark, loaded once by syntax.py, the only lark importer) ->
syntax.py (the syntax tree, tree.py's types) -> build.py (names, blocks,
repeats -> ir.py's flat IR; settings.py declares and checks the train block)
-> shapes.py (every shape, and the bounds on what a spec may ask for); heads.py
(what an output is under its loss). kinds/ declares each layer kind's words,
shape rule and weights; fmt.py and printer.py print specs back.
"""
from .build import parse  # noqa: E402  spec text -> ir.Network

__all__ = ["parse"]
