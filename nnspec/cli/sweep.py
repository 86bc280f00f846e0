"""`nnspec sweep SPEC -o DIR`: the spec's sweep block run on an Optuna study
(nnspec/sweeps/). Ctrl-C or SIGTERM stops it with the study kept; the same
command continues it."""
import signal
import sys

from ..errors import DataError
from ..training.loop import TrainingInterrupted


def sweep(args):
    from ..sweeps.api import sweep as run
    # SIGTERM between trials stops as Ctrl-C does (during training the loop's own
    # handler stops at a batch's end); the trial cut off is queued to run again
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    if args.trials is not None and args.trials < 1:
        raise DataError("--trials: give a whole number of at least 1")
    try:
        run(args.spec, args.output, jobs=args.jobs, trials=args.trials, storage=args.storage,
            study=args.study, keep=args.keep, data_dir=args.data_dir, quiet=args.quiet,
            worker=args.worker)
    except (KeyboardInterrupt, TrainingInterrupted):
        if not args.worker:
            print(f"interrupted; the study is kept: run the same command to continue "
                  f"(nnspec sweep {args.spec} -o {args.output} ...)", file=sys.stderr)
        return 130
