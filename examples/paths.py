"""Where the examples read models and write figures:

    python examples/SCRIPT.py [FIGURE_DIR]      # default: docs/figures
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "figures"
OUT.mkdir(parents=True, exist_ok=True)
