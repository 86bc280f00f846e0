"""What the backward direction is for: the label is the sign of the first step's
first feature, behind 40 steps of noise. A forward lstm's last state must carry
it through every step; a bidirectional one's backward direction reads it last.
docs/language.md quotes the numbers.

    python examples/bidirectional_first_step.py
"""
import numpy as np

import nnspec

rng = np.random.default_rng(0)
x = rng.normal(size=(1200, 40, 4)).astype("float32")
y = (x[:, 0, 0] > 0).astype(int)
for word in ("", " bidirectional"):
    model = nnspec.compile(f"input 40x4\nlstm 8{word} -> dense 2 softmax\n"
                           "train { optimizer = adam\n lr = 0.01\n seed = 1 }", epochs=8)
    model.fit(x[:1000], y[:1000])
    accuracy = (model.predict_classes(x[1000:]) == y[1000:]).mean()
    print(f"lstm 8{word}: held-out accuracy {accuracy:.3f}")
