"""A training run's state: what a checkpoint holds, and nothing else.

The fit loop (loop.py) is handed it and moves it on; files/checkpoints.py
encodes and decodes it as one unit. The Model holds the network, its weights,
its preprocessing and this.
"""
from dataclasses import dataclass, field

import numpy as np

from . import config as settings


@dataclass
class Position:
    """Where an unfinished epoch stopped."""

    batch: int  # batches done in the epoch
    rng_state: dict  # the shuffling generator's state when the epoch began
    sums: dict = field(default_factory=dict)  # sample-weighted sums of loss and metrics


@dataclass
class TrainingState:
    optimizer: object  # training/optimizers.py: its state slots and update count (t)
    schedule: object  # training/schedules.py
    stopper: object  # EarlyStopping from the train block, or None
    shuffle_rng: np.random.Generator  # persists across fit calls
    epoch: int = 0  # epochs trained so far
    position: Position = None  # where an interrupted epoch stopped

    @classmethod
    def fresh(cls, config, shuffle_seed):
        """The state before any training: the train config's optimizer, schedule and
        early stopping, and the shuffling generator from its seed sequence."""
        return cls(settings.optimizer(config), settings.schedule(config),
                   settings.stopper(config), np.random.default_rng(shuffle_seed))

    @property
    def step(self):
        """Updates made so far."""
        return self.optimizer.t
