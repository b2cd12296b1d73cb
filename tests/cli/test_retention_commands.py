"""``tenure retention train`` and ``score`` as an analyst runs them, on a small simulated bank."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.adapters.sql import create_store_engine, upgrade_to_head
from tenure.adapters.sql.consent import SqlConsentLedger
from tenure.cli import retention
from tenure.data.ingest import ephemeral_protector, ingest_directory
from tenure.data.simulator import SimulationConfig, synthesize
from tenure.privacy.consent import Channel, ConsentEvent, ConsentSource, Purpose
from tenure.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()
    root.command("noop")(lambda: None)
    retention.register(root)
    return root


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    synthesize(SimulationConfig(customers=1_500, months=9, seed=3), root / "bank")
    data = root / "data"
    with DuckDBWarehouse.open(data / "warehouse.duckdb") as warehouse:
        ingest_directory(
            warehouse=warehouse, source_dir=root / "bank", protector=ephemeral_protector()
        )
    return data


def test_help_explains_the_commands_with_examples(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["retention", "train", "--help"])
    assert result.exit_code == 0
    assert "dormancy_90d" in result.output
    assert "tenure retention train --definition" in result.output
    result = CliRunner().invoke(app, ["retention", "score", "--help"])
    assert "--as-of" in result.output
    assert "tenure retention score --as-of 2025-10-01" in result.output


def test_train_then_score_reports_metrics_bands_drift_and_writes_scores(
    app: typer.Typer, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENURE_DATA_DIR", str(data_dir))
    runner = CliRunner()
    trained = runner.invoke(app, ["retention", "train", "--seed", "1"])
    assert trained.exit_code == 0, trained.output
    assert "ROC-AUC" in trained.output
    assert "registered churn v0001" in trained.output
    assert "silhouette" in trained.output
    assert "holdout concordance" in trained.output
    assert (data_dir / "models" / "churn" / "v0001" / "manifest.json").is_file()
    scored = runner.invoke(app, ["retention", "score"])
    assert scored.exit_code == 0, scored.output
    assert "as of 2025-10-01" in scored.output
    assert "customers by risk band" in scored.output
    assert "drift (PSI against training)" in scored.output
    assert "churn_scores" in scored.output
    assert "customer_retention" in scored.output
    assert "value at risk" in scored.output
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as connection:
        ((rows, dates),) = connection.execute(
            "SELECT COUNT(*), COUNT(DISTINCT as_of) FROM churn_scores"
        ).fetchall()
        ((retained, segmented),) = connection.execute(
            "SELECT COUNT(*), COUNT(segment_name) FROM customer_retention"
        ).fetchall()
    assert rows > 1_000
    assert dates == 1
    assert retained == segmented == rows


def test_a_customer_who_withdrew_profiling_is_left_out_of_the_next_scoring(
    app: typer.Typer, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # runs after the test above, which trained the models and scored once (same module's bank)
    monkeypatch.setenv("TENURE_DATA_DIR", str(data_dir))
    warehouse = str(data_dir / "warehouse.duckdb")
    with duckdb.connect(warehouse, read_only=True) as connection:
        ((customer, scored_before),) = connection.execute(
            "SELECT MIN(customer_id), COUNT(*) FROM customer_retention"
        ).fetchall()
    settings = Settings(data_dir=data_dir)
    upgrade_to_head(settings.operational_url)
    store = create_store_engine(settings.operational_url)
    at = datetime(2025, 9, 1, tzinfo=UTC)
    withdrawal = ConsentEvent(
        event_id="w1", customer_id=customer, purpose=Purpose.PROFILING, channel=Channel.APP_PUSH,
        granted=False, at=at, source=ConsentSource.API, actor="app", recorded_at=at,
    )  # fmt: skip
    try:
        SqlConsentLedger(store).append([withdrawal])
    finally:
        store.dispose()

    scored = CliRunner().invoke(app, ["retention", "score"])

    assert scored.exit_code == 0, scored.output
    assert "left out 1 customers who refused profiling or were erased" in scored.output
    with duckdb.connect(warehouse, read_only=True) as connection:
        ((still_there, scored_after),) = connection.execute(
            "SELECT COUNT(*) FILTER (WHERE customer_id = ?), COUNT(*) FROM customer_retention",
            [customer],
        ).fetchall()
    assert (still_there, scored_after) == (0, scored_before - 1)


def test_bad_input_is_explained_not_traced(
    app: typer.Typer, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENURE_DATA_DIR", str(data_dir))
    runner = CliRunner()
    result = runner.invoke(app, ["retention", "train", "--definition", "attrition"])
    assert result.exit_code == 2
    assert "closure" in result.output
    result = runner.invoke(app, ["retention", "score", "--version", "v0099"])
    assert result.exit_code == 2
    assert "scoring failed" in result.output
    result = runner.invoke(app, ["retention", "score", "--as-of", "01/10/2025"])
    assert result.exit_code == 2
