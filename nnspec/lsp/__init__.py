"""The language server (`nnspec lsp`, the optional extra nnspec[lsp]): shape
errors as you type, a layer's output shape on hover, completion, navigation.

    index.py       spec text -> Index (document.py): problems, layers with their
                   numbers, names, blocks, settings; the one reader of nnspec's internals
    hover.py, completion.py, navigation.py, symbols.py
                   pure functions of an Index and a position, testable without pygls
    server.py      pygls wiring only; imported by `nnspec lsp` alone
    text.py        spans of words, braced bodies and placeholders in spec text

Importing this package imports nothing optional; only server.py needs pygls.
"""
