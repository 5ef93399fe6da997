"""The survey's experiment on a user's own series: train on some dates, predict the held-out ones, compare.

Protocol (arXiv 2412.16631, section "Experiments"): the dates with a fine image
are split into training and test dates; each deep model is trained on a pairs
table from which the test dates' fine images are removed (so no model ever sees
a test date's fine image); every method then predicts each test date from the
reference pairs chosen as in ``fuseseries`` (any other date with a fine image:
a target's own fine image is never used), and each prediction is evaluated
against the real fine image of its date. The result is the comparison report
of ``lstfusion:compare`` plus the trained model files.

Every step is a function of paths and settings: the training of each model
and each method's prediction of each date are units of ``workflows.cluster``,
run in this process or on a Dask cluster (the models train in parallel, then
the predictions run).
"""
import dataclasses
import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from ..evaluation.comparison import ComparisonResult, Entry, compare_entries
from ..evaluation.metrics import LANDSAT_MODIS_RATIO
from ..common.errors import InputError
from .fuse_series import plan_series
from ..common.progress import Progress, ensure
from ..common.pairs import PairRow, read_pairs, write_pairs
from ..models.registry import get_method
from .cluster import InProcess, Unit
from .methods import FusionMethod


def select_test_dates(pairs: Sequence[PairRow], dates: Optional[Sequence[dt.date]] = None,
                      last: int = 0, every: int = 0) -> List[dt.date]:
    """Test dates among the dates with both images: the ``dates`` given, else every
    ``every``-th one (the 1st, (k+1)-th, ...), else the ``last`` ones (default 1)."""
    observed = sorted(p.date for p in pairs if p.fine and p.coarse)
    if dates:
        missing = sorted(set(dates) - set(observed))
        if missing:
            raise InputError("Test dates need a fine and a coarse image; these have not: "
                             + ", ".join(d.isoformat() for d in missing) + ".")
        chosen = sorted(set(dates))
    elif every > 0:
        chosen = observed[::every]
    else:
        chosen = observed[-max(last, 1):]
    if len(observed) - len(chosen) < 1:
        raise InputError(f"The series has {len(observed)} date(s) with a fine image and {len(chosen)} "
                         "would be test dates: at least one other date with a fine image is needed "
                         "as a reference pair (and to train on).")
    return chosen


@dataclass
class ExperimentConfig:
    """Settings of one experiment.

    ``methods``: names in :mod:`models.registry` (classical methods and deep
    architectures, which are trained first). ``train``: a ``models.deep.train.TrainConfig`` used for every deep
    model (its ``model`` is set per model); ``hyperparameters`` maps a model
    name to its hyperparameter overrides. ``ergas_ratio``: fine / coarse pixel size.
    """

    methods: Sequence[str]
    test_dates: Sequence[dt.date]
    train: object = None
    hyperparameters: Dict[str, Dict] = field(default_factory=dict)
    device: str = "auto"
    ergas_ratio: float = LANDSAT_MODIS_RATIO


def training_table(pairs: Sequence[PairRow], test_dates: Sequence[dt.date], path: str) -> str:
    """Write the pairs table the models train on: the test dates' fine images removed."""
    held_out = set(test_dates)
    rows = [dataclasses.replace(p, fine=None) if p.date in held_out else p for p in pairs]
    return write_pairs(path, rows)


def run_experiment(pairs_path: str, folder: str, config: ExperimentConfig,
                   progress: Optional[Progress] = None, runner=None) -> ComparisonResult:
    """Train the deep models, predict every test date with every method, and compare.

    Writes into ``folder``: ``train_pairs.csv``, ``models/<name>.pt``,
    ``predictions/<method>_<date>.tif``, ``comparison.csv``,
    ``comparison_per_date.csv``, ``comparison_report.html`` and ``skipped.csv``
    (method, date, reason) when a method cannot predict a date. The units of ``runner``
    (``workflows.cluster``; default: in this process) are the training of each deep model,
    then the prediction of each method and test date.
    """
    progress = ensure(progress)
    runner = runner or InProcess()
    pairs = read_pairs(pairs_path)
    deep = [m for m in config.methods if get_method(m).trainable]
    os.makedirs(os.path.join(folder, "predictions"), exist_ok=True)
    methods = [FusionMethod(m) for m in config.methods if not get_method(m).trainable]
    train_share = 60.0 if deep else 0.0
    if deep:
        table = training_table(pairs, config.test_dates, os.path.join(folder, "train_pairs.csv"))
        progress.info(f"Training {', '.join(deep)} on the non-test dates ({table}).")
        trained = dict(runner.run([Unit(f"training {name}", _train, (name, table, folder, config)) for name in deep],
                                  progress.sub(0, train_share)))
        methods += [trained[i] for i in range(len(deep))]
    entries, skipped = _predict_all(pairs, methods, config.test_dates, folder, runner,
                                    progress.sub(train_share, 90))
    _write_skipped(os.path.join(folder, "skipped.csv"), skipped)
    if not entries:
        raise InputError("No method could predict any test date: " +
                         "; ".join(f"{m} {d}: {why}" for m, d, why in skipped))
    return compare_entries(entries, os.path.join(folder, "comparison.csv"),
                           os.path.join(folder, "comparison_per_date.csv"),
                           os.path.join(folder, "comparison_report.html"),
                           ergas_ratio=config.ergas_ratio, progress=progress.sub(90, 100),
                           title="Experiment: fusion methods on held-out dates")


def _train(name: str, table: str, folder: str, config: ExperimentConfig, progress: Progress) -> FusionMethod:
    """Train one deep model on the training table; the FusionMethod that uses it."""
    from ..models.deep.train import TrainConfig, train_model
    path = os.path.join(folder, "models", f"{name}.pt")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    train = dataclasses.replace(config.train or TrainConfig(), model=name, device=config.device,
                                hyperparameters=config.hyperparameters.get(name, {}))
    train_model(table, path, train, progress)
    return FusionMethod("model", path, device=config.device)


def _predict_all(pairs, methods, test_dates, folder, runner, progress):
    """(comparison entries, [(method, date, reason)]) for every method and test date."""
    by_date = {p.date: p for p in pairs}
    entries, skipped, units = [], [], []
    for method, date in [(m, d) for m in methods for d in sorted(test_dates)]:
        plan = plan_series(pairs, method.pairs_needed(), [date], method.falls_back_to_one_pair())[0]
        if plan.skipped:
            skipped.append((method.label, date.isoformat(), plan.skip_reason))
            progress.info(f"{method.label}, {date}: skipped, {plan.skip_reason}")
            continue
        out = os.path.join(folder, "predictions", f"{method.label}_{date.isoformat()}.tif")
        progress.info(f"{method.label}, {date}: predicting from "
                      + " and ".join(r.date.isoformat() for r in plan.references))
        units.append(Unit(f"{method.label}, {date}", method.predict, (plan, out)))
        entries.append(Entry(method.label, date.isoformat(), out, by_date[date].fine))
    for _ in runner.run(units, progress):
        pass
    return entries, skipped


def _write_skipped(path: str, skipped) -> None:
    import csv
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["method", "date", "reason"])
        writer.writerows(skipped)
