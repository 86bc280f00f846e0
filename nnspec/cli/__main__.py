"""`python -m nnspec.cli`: the same as the `nnspec` command."""
import sys

from . import main

sys.exit(main())
