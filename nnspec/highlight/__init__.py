"""Highlighting nnspec from the language's own tables (vocabulary.py): the rules
once (rules.py), a Pygments lexer made from them (pygments_lexer.py, the
optional extra; imported when NNSpecLexer is first asked for) and a TextMate
grammar (textmate.py) for VS Code and the editors that read TextMate grammars:

    python -m nnspec.highlight --textmate > editors/vscode/syntaxes/nnspec.tmLanguage.json
"""


def __getattr__(name):
    if name == "NNSpecLexer":  # pygments is optional: imported only here
        from .pygments_lexer import NNSpecLexer
        return NNSpecLexer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
