"""MkDocs hooks: the site's home page is README.md, so that the README stays the
one source of what it says (its links into docs/ made relative to docs/, where
the site's pages are); and a fence's words after its language (```sh setup,
```python extras=sklearn: what tests/test_docs.py runs, and with which extras)
are left out, as they are the tests' and not the reader's."""
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


FENCE_WORDS = re.compile(r"^(```\w+)[ \t]+[^`\n]*$", flags=re.M)


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri == "index.md":
        markdown = re.sub(r"\]\(docs/", "](", README.read_text())
    return FENCE_WORDS.sub(r"\1", markdown)
