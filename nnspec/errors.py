"""Every error a user can cause is an NNSpecError; nothing else should reach them.
shown() is how text from files (names, values) is put into a message.

SpecError carries where in the source the problem is, so the CLI can print
`error: FILE:LINE:COL: message` followed by the line and a caret.
"""


class NNSpecError(Exception):
    """Base of every error nnspec raises for a user's mistake."""


class SpecError(NNSpecError):
    """A problem in a .nn spec, located at a line and column (1-based)."""

    def __init__(self, message, line=None, column=None, source=None, text=None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.source = source  # the file name, or "<spec>"
        self.text = text  # the whole spec text, to quote the offending line

    def located(self, source=None, text=None):
        """Fill in the file name and text where the raiser did not know them."""
        if self.source is None:
            self.source = source
        if self.text is None:
            self.text = text
        return self

    def __str__(self):
        where = self.source or "<spec>"
        if self.line is not None:
            where += f":{self.line}:{self.column}"
        return f"{where}: {self.message}"

    def excerpt(self):
        """The offending source line and a caret under the column, or ''."""
        if self.text is None or self.line is None:
            return ""
        lines = self.text.splitlines()
        if not 1 <= self.line <= len(lines):
            return ""
        line = lines[self.line - 1].expandtabs(1)
        column = max(self.column, 1) - 1
        if len(line) > 100:  # a window of a long line around the column
            start = max(0, min(column - 40, len(line) - 100))
            line, column = line[start:start + 100], column - start
        line = "".join(c if c.isprintable() else "?" for c in line)
        return f"    {line}\n    {' ' * column}^"


class ShapeError(SpecError):
    """A layer whose input shape does not fit it."""


class DataError(NNSpecError):
    """Input data that does not fit the model or is malformed."""


class BundleError(NNSpecError):
    """A bundle file that cannot be read: corrupt, truncated, or not a bundle."""


def shown(value, limit=200):
    """Text from a file as it may be printed: control characters (terminal
    escape sequences, carriage returns) escaped, and at most `limit` characters."""
    text = str(value)
    if any(not c.isprintable() for c in text):
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[:limit] + "..."


def listed(names, most=4):
    """Names for a one-line message: the first `most`, then how many more."""
    names = list(names)
    head = ", ".join(map(str, names[:most]))
    return head + (f" and {len(names) - most} more" if len(names) > most else "")
