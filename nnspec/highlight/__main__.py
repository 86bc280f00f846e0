"""`python -m nnspec.highlight --textmate`: print the TextMate grammar (textmate.py)."""
import argparse
import sys

from .textmate import text


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m nnspec.highlight",
                                description="Print nnspec's TextMate grammar, generated "
                                            "from the language's tables.")
    p.add_argument("--textmate", action="store_true", required=True,
                   help="print the grammar as tmLanguage JSON")
    p.parse_args(argv)
    sys.stdout.write(text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
