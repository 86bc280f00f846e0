"""`python -m nnspec ...` runs the command line, as `nnspec ...` does (torchrun
starts its processes this way: `torchrun ... -m nnspec train ...`)."""
import sys

from .cli import main

sys.exit(main())
