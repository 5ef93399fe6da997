"""lstfusion:experiment on a small simulated series: protocol, outputs and a consistent ranking."""
import csv
import datetime as dt
import json

import numpy as np
import pytest
from qgis.core import QgsProcessingException

from lst_fusion_plugin.common.errors import InputError
from lst_fusion_plugin.common.pairs import PairRow, read_pairs, write_pairs
from lst_fusion_plugin.common.raster_io import read_array
from lst_fusion_plugin.simulation.simulate import simulate_series
from lst_fusion_plugin.workflows.experiment import select_test_dates, training_table

D = dt.date


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    """80 x 80 pixels, 34 days, a fine image every 8 days (5 fine dates)."""
    return simulate_series(str(tmp_path_factory.mktemp("sim")), rows=80, cols=80, days=34, seed=11,
                           cloud_fraction=0.0, revisit=8)


def rows(*days_with_fine):
    return [PairRow(D(2020, 1, d), f"f{d}.tif" if d in days_with_fine else None, f"c{d}.tif")
            for d in range(1, 11)]


def test_test_date_selection():
    pairs = rows(1, 4, 7, 10)
    assert select_test_dates(pairs) == [D(2020, 1, 10)]
    assert select_test_dates(pairs, last=2) == [D(2020, 1, 7), D(2020, 1, 10)]
    assert select_test_dates(pairs, every=2) == [D(2020, 1, 1), D(2020, 1, 7)]
    assert select_test_dates(pairs, dates=[D(2020, 1, 4)], last=3) == [D(2020, 1, 4)]
    with pytest.raises(InputError, match="have not: 2020-01-05"):
        select_test_dates(pairs, dates=[D(2020, 1, 5)])
    with pytest.raises(InputError, match="at least one other date with a fine image"):
        select_test_dates(rows(3))


def test_training_table_never_holds_a_test_fine_image(tmp_path):
    pairs = rows(1, 4, 7, 10)
    for name in ("f1.tif", "f4.tif", "f7.tif", "f10.tif", *(f"c{d}.tif" for d in range(1, 11))):
        (tmp_path / name).write_text("")
    pairs = [PairRow(p.date, str(tmp_path / p.fine) if p.fine else None, str(tmp_path / p.coarse)) for p in pairs]
    table = training_table(pairs, [D(2020, 1, 7), D(2020, 1, 10)], str(tmp_path / "train.csv"))
    kept = {p.date: p.fine for p in read_pairs(table, check_files=False)}
    assert kept[D(2020, 1, 7)] is None and kept[D(2020, 1, 10)] is None
    assert kept[D(2020, 1, 4)].endswith("f4.tif")
    assert len(kept) == 10  # coarse images of the test dates stay available


@pytest.mark.slow
def test_experiment_runs_end_to_end_and_ranks_by_its_own_numbers(processing, series, tmp_path):
    result = processing.run("lstfusion:experiment", {
        "PAIRS": series.pairs, "METHODS": [0, 1, 3], "TEST_DATES": "2023-06-17", "EPOCHS": 2, "PATCH_SIZE": 32,
        "STRIDE": 16, "BATCH_SIZE": 2, "DEVICE": 1,
        "HYPERPARAMETERS": '{"edcstfn": {"pretrain_batches": 4}}', "OUTPUT_FOLDER": str(tmp_path)})
    summary = json.loads(result["SUMMARY"])
    assert {row["method"] for row in summary} == {"starfm", "estarfm", "edcstfn"}
    assert all(row["dates"] == 1 for row in summary)
    assert result["BEST_METHOD"] == min(summary, key=lambda r: r["RMSE_mean"])["method"]
    with open(result["PER_DATE"]) as f:
        per_date = list(csv.DictReader(f))
    assert {r["date"] for r in per_date} == {"2023-06-17"}
    for row in per_date:  # every prediction is evaluated against that date's real fine image
        assert row["reference"] == series.fine["2023-06-17"]
        assert float(row["RMSE"]) < 5.0
    assert (tmp_path / "models" / "edcstfn.pt").exists()
    trained_on = {p.date.isoformat(): p.fine for p in read_pairs(str(tmp_path / "train_pairs.csv"))}
    assert trained_on["2023-06-17"] is None and trained_on["2023-06-09"]
    check_no_leak_in_the_model_file(str(tmp_path / "models" / "edcstfn.pt"), series, tmp_path)
    check_classical_scores_against_leak_free_runs({r["method"]: r for r in per_date}, series, tmp_path)
    html = (tmp_path / "comparison_report.html").read_text()
    assert "data:image/png;base64," in html and "edcstfn" in html
    with open(tmp_path / "skipped.csv") as f:
        assert list(csv.reader(f)) == [["method", "date", "reason"]]


def check_no_leak_in_the_model_file(path, series, tmp_path):
    """The saved model never saw the test date's fine image, and is exactly the model trained on a
    leak-free table written here (same settings, CPU training is deterministic)."""
    import torch
    from lst_fusion_plugin.models.deep.model_file import load_model
    from lst_fusion_plugin.models.deep.train import TrainConfig, train_model
    model = load_model(path)
    fine_dates = sorted(series.fine)
    assert "2023-06-17" in fine_dates
    for key in ("dates", "train_dates", "validation_dates"):
        assert "2023-06-17" not in model.training[key], key
    assert "2023-06-17" not in model.validation.get("dates", [])
    used = set(model.training["train_dates"]) | set(model.training["validation_dates"])
    assert used == set(fine_dates) - {"2023-06-17"}
    rows = [PairRow(p.date, None if p.date == D(2023, 6, 17) else p.fine, p.coarse) for p in read_pairs(series.pairs)]
    leak_free = write_pairs(str(tmp_path / "leak_free_pairs.csv"), rows)
    reference = str(tmp_path / "leak_free_edcstfn.pt")
    train_model(leak_free, reference, TrainConfig(model="edcstfn", epochs=2, batch_size=2, patch=32, stride=16,
                                                  device="cpu", hyperparameters={"pretrain_batches": 4}))
    expected = load_model(reference).state_dict
    assert set(model.state_dict) == set(expected)
    for name, value in model.state_dict.items():
        assert torch.equal(value, expected[name]), name


def check_classical_scores_against_leak_free_runs(per_date, series, tmp_path):
    """STARFM and ESTARFM scores equal runs made here from the pairs around the test date only."""
    from lst_fusion_plugin.models.classical.estarfm import run_estarfm
    from lst_fusion_plugin.models.classical.starfm import run_starfm
    pairs = {p.date.isoformat(): p for p in read_pairs(series.pairs)}
    before, after, target = pairs["2023-06-09"], pairs["2023-06-25"], pairs["2023-06-17"]
    truth = read_array(series.fine["2023-06-17"])
    run_starfm(before.fine, before.coarse, target.coarse, str(tmp_path / "starfm.tif"))
    run_estarfm(before.fine, before.coarse, after.fine, after.coarse, target.coarse, str(tmp_path / "estarfm.tif"))
    naive = read_array(before.fine) + read_array(target.coarse) - read_array(before.coarse)
    for method in ("starfm", "estarfm"):
        rmse = float(np.sqrt(np.nanmean((read_array(str(tmp_path / f"{method}.tif")) - truth) ** 2)))
        assert float(per_date[method]["RMSE"]) == pytest.approx(rmse, rel=1e-4), method
    assert float(np.sqrt(np.nanmean((naive - truth) ** 2))) > 0.5  # the test date is not trivially easy


def test_methods_that_cannot_predict_a_date_are_listed_as_skipped(processing, series, tmp_path):
    result = processing.run("lstfusion:experiment", {
        "PAIRS": series.pairs, "METHODS": [0, 1], "LAST_N": 1, "OUTPUT_FOLDER": str(tmp_path)})
    assert [row["method"] for row in json.loads(result["SUMMARY"])] == ["starfm"]
    with open(tmp_path / "skipped.csv") as f:
        skipped = list(csv.reader(f))[1:]
    assert skipped == [["estarfm", "2023-07-03",
                        "no reference pair after this date (a two-pair method needs both)"]]


def test_no_method_is_a_clear_error(processing, series, tmp_path):
    with pytest.raises(QgsProcessingException, match="Incorrect parameter value for METHODS"):
        processing.run("lstfusion:experiment", {"PAIRS": series.pairs, "METHODS": [],
                                                "OUTPUT_FOLDER": str(tmp_path)})
