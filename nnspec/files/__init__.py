"""Files: safe reads and atomic writes (io.py), the bundle document and codec
(bundle.py, checkpoints.py), data sets and loaders (data/), and inference
inputs (inputs.py). io.py imports nothing but errors, so `nnspec fmt` reads
specs without numpy."""
