"""The retention report: one offline HTML page whose charts, sections and figures match the data."""

from __future__ import annotations

import base64
import html
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from retention.simulated_bank import build_bank
from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.cli.retention_report import register
from tenure.core.clock import FixedClock
from tenure.retention.registry import ModelRegistry
from tenure.retention.report import SECTIONS, build_report, money
from tenure.retention.scoring import score_customers
from tenure.retention.training import train_retention_models

pytestmark = pytest.mark.slow

OLDER, LATEST = datetime(2025, 5, 1, tzinfo=UTC), datetime(2025, 8, 1, tzinfo=UTC)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Bank:
    """A data directory laid out as the settings expect: warehouse.duckdb and models/."""

    root: Path

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def registry(self) -> ModelRegistry:
        return ModelRegistry(self.root / "models")


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Bank:
    root = tmp_path_factory.mktemp("report")
    build_bank(root, customers=600)
    scored = Bank(root)
    clock = FixedClock(datetime(2025, 8, 2, tzinfo=UTC))
    with DuckDBWarehouse.open(scored.warehouse) as warehouse:
        train_retention_models(warehouse=warehouse, registry=scored.registry, n_jobs=1)
        for as_of in (OLDER, LATEST):
            score_customers(warehouse=warehouse, registry=scored.registry, as_of=as_of, clock=clock)
    return scored


@pytest.fixture(scope="module")
def page(bank: Bank) -> str:
    with DuckDBWarehouse.open(bank.warehouse) as warehouse:
        return build_report(warehouse=warehouse, registry=bank.registry)


@pytest.fixture
def copied(bank: Bank, tmp_path: Path) -> Iterator[tuple[DuckDBWarehouse, ModelRegistry]]:
    shutil.copy(bank.warehouse, tmp_path / "warehouse.duckdb")
    with DuckDBWarehouse.open(tmp_path / "warehouse.duckdb") as warehouse:
        yield warehouse, bank.registry


class _Links(HTMLParser):
    """Every src / href attribute, every inline script, and the text of style blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.links: list[str] = []
        self.tags: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name == "src":
                self.sources.append(value or "")
            elif name == "href":
                self.links.append(value or "")
            elif name == "style":
                self.styles.append(value or "")

    def handle_data(self, data: str) -> None:
        if self.tags and self.tags[-1] == "style":
            self.styles.append(data)


def _parsed(page: str) -> _Links:
    parser = _Links()
    parser.feed(page)
    return parser


def _pngs(page: str) -> list[bytes]:
    found = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    return [base64.b64decode(data, validate=True) for data in found]


def test_report_is_one_document_with_no_link_to_the_network(page: str) -> None:
    parsed = _parsed(page)
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("</html>") == 1
    assert "http://" not in page
    assert "https://" not in page
    assert parsed.sources
    assert all(s.startswith("data:image/png;base64,") for s in parsed.sources)
    assert all(link.startswith("#") for link in parsed.links)
    assert not {"script", "link", "iframe", "object"} & set(parsed.tags)
    assert not any("url(" in style or "@import" in style for style in parsed.styles)


def test_report_embeds_at_least_six_real_png_charts(page: str) -> None:
    images = _pngs(page)
    assert len(images) >= 6
    assert all(image.startswith(PNG_SIGNATURE) and len(image) > 5_000 for image in images)


def test_follow_up_survival_is_split_by_segment_and_every_tier(page: str) -> None:
    for label in ("segment", "value tier", "activity tier", "risk tier", "lifecycle stage"):
        assert f'alt="survival by {label}"' in page


def test_report_has_every_section_and_a_caption_under_every_chart(page: str) -> None:
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in page
    assert page.count("<figcaption") == page.count("<img ")


def test_summary_figures_match_the_warehouse(bank: Bank, page: str) -> None:
    with DuckDBWarehouse.open(bank.warehouse) as warehouse:
        ((scored, mean_p, high),) = warehouse.fetch_all(
            "SELECT COUNT(*), AVG(p_churn), COUNT(*) FILTER (WHERE risk_band = 'high') "
            "FROM churn_scores WHERE as_of = ?",
            (LATEST,),
        )
    assert f'<td>Customers scored</td><td class="n">{scored:,}</td>' in page
    assert f"{mean_p:.2%}" in page
    assert f"{high:,} ({high / scored:.1%})" in page
    assert "2025-08-01" in page
    assert "churn v0001" in page


def test_calibration_uses_the_older_date_whose_outcomes_are_known(page: str) -> None:
    assert "Customers scored on 2025-05-01" in page
    assert "the 90 days after" in page
    assert "<b>closure</b>" in page
    assert "Lift by decile" not in page.split("Calibration and lift")[0]


def test_without_a_date_past_its_horizon_the_manifest_metrics_are_shown(
    copied: tuple[DuckDBWarehouse, ModelRegistry],
) -> None:
    warehouse, registry = copied
    warehouse.execute("DELETE FROM churn_scores WHERE as_of = ?", (OLDER,))
    page = build_report(warehouse=warehouse, registry=registry)
    assert "realised outcomes are not known" in page
    assert "ROC-AUC" in page
    assert "No scored date has any follow-up yet" in page
    assert len(_pngs(page)) >= 5  # no calibration, lift or survival charts without outcomes


def test_tiers_and_segments_come_from_customer_retention(bank: Bank, page: str) -> None:
    with DuckDBWarehouse.open(bank.warehouse) as warehouse:
        names = warehouse.fetch_all(
            "SELECT DISTINCT segment_name FROM customer_retention WHERE as_of = ?", (LATEST,)
        )
        ((at_risk,),) = warehouse.fetch_all(
            "SELECT SUM(value_at_risk_minor) FROM customer_retention WHERE as_of = ?", (LATEST,)
        )
    assert "Tiers and segments: the customer_retention table." in page
    assert names
    assert all(html.escape(str(name)) in page for (name,) in names)
    assert f"Total value at risk: {money(int(at_risk))}" in page


def test_without_customer_retention_tiers_and_segments_are_computed(
    copied: tuple[DuckDBWarehouse, ModelRegistry],
) -> None:
    warehouse, registry = copied
    warehouse.execute("DROP TABLE customer_retention")
    page = build_report(warehouse=warehouse, registry=registry, as_of=LATEST)
    assert "computed for this report" in page
    assert " vs " in page.split("<h2>Segment profiles</h2>")[1]  # traits in numbers
    assert len(_pngs(page)) >= 8


def test_money_is_shown_in_yuan_from_minor_units() -> None:
    assert money(123456789) == "CNY 1,234,567.89"
    assert money(5) == "CNY 0.05"


def test_cli_writes_the_report_and_prints_its_path(
    bank: Bank, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    shutil.copytree(bank.root, data, ignore=shutil.ignore_patterns("bank"))
    monkeypatch.setenv("TENURE_DATA_DIR", str(data))
    group = typer.Typer()
    register(group)
    group.command("noop")(lambda: None)  # a second command keeps "report" a subcommand
    out = tmp_path / "retention.html"
    result = CliRunner().invoke(group, ["report", "--out", str(out), "--as-of", "2025-08-01"])
    assert result.exit_code == 0, result.output
    assert out.name in result.output.replace("\n", "")
    assert "kB" in result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    help_text = CliRunner().invoke(group, ["report", "--help"]).output
    assert "tenure retention report --out retention.html" in help_text


_PROBE = """<script>
document.body.setAttribute("data-widths",
  Array.from(document.images).map(function (i) { return i.naturalWidth; }).join(","));
</script></body>"""


@pytest.mark.browser
def test_report_shows_its_charts_in_chromium_offline(
    page: str, tmp_path: Path, chromium: str
) -> None:
    probed = tmp_path / "report.html"
    probed.write_text(page.replace("</body>", _PROBE), encoding="utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--proxy-server=127.0.0.1:9", "--virtual-time-budget=5000", "--dump-dom"]  # fmt: skip
    dom = subprocess.run(
        [chromium, *flags, probed.as_uri()], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    widths = re.search(r'data-widths="([0-9,]*)"', dom)
    assert widths is not None, dom[:500]
    loaded = [int(w) for w in widths.group(1).split(",")]
    assert len(loaded) >= 6
    assert all(w > 100 for w in loaded)
