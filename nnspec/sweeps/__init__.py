"""Sweeps: many runs of one spec, the spaces declared in its sweep block, on Optuna.

    space.py   the sweep block -> a Plan (spaces, sampler, trials, objective, pruner);
               no numpy, no Optuna
    runner.py  one trial: the spec filled with the trial's values, trained, its
               metric reported epoch by epoch (for pruning)
    study.py   the Optuna study: storage (SQLite, any URL, a journal file), sampler,
               pruner, workers, stale trials of a killed run, the trials target
    files.py   DIR/trials.csv, DIR/trials.jsonl, DIR/best.nnb, the leaderboard
    api.py     nnspec.sweep(spec, out=..., jobs=..., storage=...)

Optuna (`pip install "nnspec[sweep]"`) is imported by study.py alone, only when a
sweep runs; `import nnspec` never loads it. (The package is `sweeps`, so that
`nnspec.sweep` stays the function.)
"""
