"""``tenure churn benchmark``: honest cross-validation of any churn CSV, and its error messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from tenure.cli.churn import register
from tenure.core.errors import ValidationError
from tenure.retention.benchmark import benchmark_frame, read_churn_csv

KEYS = ("roc_auc", "pr_auc", "f1", "accuracy")


def telco_like(rows: int = 2000, seed: int = 0, *, noise: bool = False) -> pd.DataFrame:
    """A Telco-style churn table: an ID, numbers, text categories, gaps, ' ' blanks, Yes/No."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 72, rows)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], rows, p=[0.5, 0.3, 0.2])
    monthly = rng.normal(65, 25, rows).clip(18, 120).round(2)
    total = np.where(tenure == 0, " ", (tenure * monthly).round(2).astype(str))
    payment = rng.choice(["Electronic check", "Mailed check", "Card", None], rows)
    city = rng.choice([f"City {i}" for i in range(150)], rows)
    logit = -0.3 + 1.8 * (contract == "Month-to-month") - 0.05 * tenure + 0.02 * (monthly - 65)
    churned = rng.random(rows) < 1 / (1 + np.exp(-logit))
    if noise:
        churned = rng.random(rows) < churned.mean()
    return pd.DataFrame(
        {
            "customerID": [f"{i:04d}-{rng.integers(10**4):04d}X" for i in range(rows)],
            "tenure": tenure,
            "Contract": contract,
            "MonthlyCharges": monthly,
            "TotalCharges": total,
            "PaymentMethod": payment,
            "City": city,
            "Churn": np.where(churned, "Yes", "No"),
        }
    )


@pytest.fixture
def app() -> typer.Typer:
    cli = typer.Typer()
    register(cli)

    @cli.callback()
    def main() -> None:
        """Keep ``churn`` a sub-command."""

    return cli


def write(frame: pd.DataFrame, path: Path, **options: Any) -> Path:
    frame.to_csv(path, index=False, **options)
    return path


def run(app: typer.Typer, *args: str) -> Any:
    return CliRunner().invoke(app, ["churn", "benchmark", *args])


def run_json(app: typer.Typer, *args: str) -> dict[str, Any]:
    result = run(app, *args, "--json")
    assert result.exit_code == 0, result.stderr
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def test_json_reports_four_metrics_in_unit_range_on_signal_data(
    app: typer.Typer, tmp_path: Path
) -> None:
    csv = write(telco_like(), tmp_path / "telco.csv")
    args = ("--csv", str(csv), "--target", "Churn", "--positive", "Yes", "--drop", "customerID")
    report = run_json(app, *args)
    assert all(0.0 <= report[key] <= 1.0 for key in KEYS)
    assert report["roc_auc"] > 0.75
    assert report["pr_auc"] > report["positive_rate"]
    assert report["n_folds"] == 5
    assert report["rows"] == 2000
    assert "customerID" not in report["features"]


def test_pure_noise_labels_score_near_chance(app: typer.Typer, tmp_path: Path) -> None:
    csv = write(telco_like(noise=True), tmp_path / "noise.csv")
    args = ("--csv", str(csv), "--target", "Churn", "--positive", "Yes", "--folds", "3")
    report = run_json(app, *args)
    assert report["roc_auc"] < 0.62


def test_positive_names_the_churn_class(app: typer.Typer, tmp_path: Path) -> None:
    frame = telco_like(rows=800)
    csv = write(frame, tmp_path / "telco.csv")
    share_yes = float((frame["Churn"] == "Yes").mean())
    base = ("--csv", str(csv), "--target", "Churn", "--drop", "customerID", "--folds", "2")
    assert run_json(app, *base, "--positive", "Yes")["positive_rate"] == pytest.approx(share_yes)
    flipped = run_json(app, *base, "--positive", " No ")
    assert flipped["positive_rate"] == pytest.approx(1 - share_yes)
    assert flipped["positive_label"] == "No"


def test_zero_one_target_needs_no_positive_and_missing_targets_are_counted(
    app: typer.Typer, tmp_path: Path
) -> None:
    frame = telco_like(rows=800)
    frame["Churn"] = (frame["Churn"] == "Yes").astype(float)
    frame.loc[:9, "Churn"] = np.nan
    csv = write(frame, tmp_path / "binary.csv")
    report = run_json(app, "--csv", str(csv), "--target", "Churn", "--folds", "2")
    assert report["positive_label"] == "1"
    assert report["dropped_missing_target"] == 10
    assert report["rows"] == 790


def test_true_false_target_defaults_to_true(tmp_path: Path) -> None:
    frame = telco_like(rows=600).drop(columns=["customerID"])
    frame["Churn"] = frame["Churn"] == "Yes"
    read = read_churn_csv(write(frame, tmp_path / "bool.csv"))
    result = benchmark_frame(frame=read, target="Churn", folds=2)
    assert result.positive_label == "True"
    assert result.positives == int(frame["Churn"].sum())


def test_drop_removes_columns_and_unknown_drop_exits_2_naming_it(
    app: typer.Typer, tmp_path: Path
) -> None:
    csv = write(telco_like(rows=600), tmp_path / "telco.csv")
    base = ("--csv", str(csv), "--target", "Churn", "--positive", "Yes", "--folds", "2")
    report = run_json(app, *base, "--drop", "customerID, City")
    assert report["features"] == [
        "tenure",
        "Contract",
        "MonthlyCharges",
        "TotalCharges",
        "PaymentMethod",
    ]
    result = run(app, *base, "--drop", "customerID,Cty")
    assert result.exit_code == 2
    assert "'Cty'" in result.stderr
    assert "City" in result.stderr


def test_unknown_target_exits_2_listing_the_columns(app: typer.Typer, tmp_path: Path) -> None:
    csv = write(telco_like(rows=100), tmp_path / "telco.csv")
    result = run(app, "--csv", str(csv), "--target", "Exited")
    assert result.exit_code == 2
    assert "'Exited'" in result.stderr
    assert "customerID" in result.stderr


def test_text_target_without_positive_exits_2_naming_the_option(
    app: typer.Typer, tmp_path: Path
) -> None:
    frame = telco_like(rows=300)
    frame["Churn"] = np.random.default_rng(0).choice(["stayed", "closed", "dormant"], 300)
    result = run(app, "--csv", str(write(frame, tmp_path / "multi.csv")), "--target", "Churn")
    assert result.exit_code == 2
    assert "--positive" in result.stderr
    assert "'dormant'" in result.stderr


def test_positive_not_among_the_values_exits_2(app: typer.Typer, tmp_path: Path) -> None:
    csv = write(telco_like(rows=100), tmp_path / "telco.csv")
    result = run(app, "--csv", str(csv), "--target", "Churn", "--positive", "churned")
    assert result.exit_code == 2
    assert "'churned'" in result.stderr
    assert "'Yes'" in result.stderr


def test_identifier_column_is_warned_about_not_dropped(app: typer.Typer, tmp_path: Path) -> None:
    csv = write(telco_like(rows=600), tmp_path / "telco.csv")
    args = ("--csv", str(csv), "--target", "Churn", "--positive", "Yes", "--folds", "2", "--json")
    kept = run(app, *args)
    assert "customerID" in kept.stderr
    assert "customerID" in json.loads(kept.stdout)["features"]
    dropped = run(app, *args, "--drop", "customerID")
    assert "identifier" not in dropped.stderr


def test_human_report_shows_metrics_table(app: typer.Typer, tmp_path: Path) -> None:
    csv = write(telco_like(rows=600), tmp_path / "telco.csv")
    args = ("--csv", str(csv), "--target", "Churn", "--positive", "Yes", "--drop", "customerID")
    result = run(app, *args, "--folds", "2")
    assert result.exit_code == 0, result.stderr
    for label in ("ROC-AUC", "PR-AUC", "F1", "accuracy", "rows 600", "elapsed"):
        assert label in result.stdout


def test_reader_handles_bom_semicolons_padded_headers_and_blank_numbers(tmp_path: Path) -> None:
    frame = telco_like(rows=50).rename(columns={"tenure": " tenure "})
    path = write(frame, tmp_path / "excel.csv", sep=";", encoding="utf-8-sig")
    read = read_churn_csv(path)
    assert list(read.columns)[:2] == ["customerID", "tenure"]
    assert read["TotalCharges"].dtype == np.float64
    assert read["TotalCharges"].isna().sum() == int((frame[" tenure "] == 0).sum())


def test_category_seen_only_in_one_fold_does_not_break_scoring() -> None:
    frame = telco_like(rows=900).drop(columns=["customerID"])
    frame.loc[:4, "Contract"] = "Ten year"
    result = benchmark_frame(frame=frame, target="Churn", positive="Yes", folds=3)
    assert len(result.per_fold) == 3
    assert all(0.0 <= fold.roc_auc <= 1.0 for fold in result.per_fold)


def test_benchmark_leaves_the_callers_frame_untouched() -> None:
    frame = telco_like(rows=400)
    before = frame.copy(deep=True)
    benchmark_frame(frame=frame, target="Churn", positive="Yes", drop=["customerID"], folds=2)
    pd.testing.assert_frame_equal(frame, before)


def test_too_few_churners_for_the_folds_is_a_validation_error() -> None:
    frame = telco_like(rows=200)
    frame["Churn"] = "No"
    frame.loc[:2, "Churn"] = "Yes"
    with pytest.raises(ValidationError, match="5-fold"):
        benchmark_frame(frame=frame, target="Churn", positive="Yes", folds=5)
