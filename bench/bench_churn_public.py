"""Churn benchmark on public data: 5-fold ROC-AUC of ``ChurnClassifier`` on Churn_Modelling.

Runs ``benchmark_csv`` on ``churn/Churn_Modelling.csv`` from the reference data folder (target
``Exited``; ``RowNumber``, ``CustomerId`` and ``Surname`` dropped) with the model's default
settings and prints the metrics beside the published figure. Every fold's preprocessing, number of
rounds and threshold come from that fold's training rows only. Skips with a message when the file
is absent. Run it with ``.venv/bin/python -m bench churn_public``; ``TENURE_BENCH_SEED`` picks the
fold seed (default 0).
"""

from __future__ import annotations

import os

from tenure.data.reference import ReferenceDataMissing, reference_file
from tenure.retention.benchmark import METRICS, benchmark_csv

PUBLISHED = "honest 5-fold ROC-AUC of gradient boosting is about 0.86-0.87"
TARGET_ROC_AUC = 0.865


def main() -> None:
    """Print the cross-validated metrics on Churn_Modelling against the published figure."""
    try:
        path = reference_file("churn/Churn_Modelling.csv")
    except ReferenceDataMissing as exc:
        print(f"skipped: {exc.message}")
        return
    seed = int(os.environ.get("TENURE_BENCH_SEED", "0"))
    result = benchmark_csv(
        path=path,
        target="Exited",
        drop=("RowNumber", "CustomerId", "Surname"),
        folds=5,
        seed=seed,
    )
    print(
        f"Churn_Modelling: {result.rows:,} rows, churn rate {result.positive_rate:.1%}, "
        f"5-fold CV, seed {seed}, {result.elapsed_s:.1f} s"
    )
    for name in METRICS:
        print(f"  {name:<17} {result.mean(name):.4f} ± {result.std(name):.4f}")
    per_fold = ", ".join(f"{fold.roc_auc:.4f}" for fold in result.per_fold)
    print(f"  per-fold ROC-AUC  {per_fold}")
    print(f"published: {PUBLISHED}")
    verdict = "meets" if result.mean("roc_auc") >= TARGET_ROC_AUC else "MISSES"
    print(f"target: ROC-AUC >= {TARGET_ROC_AUC}: {verdict} ({result.mean('roc_auc'):.4f})")


if __name__ == "__main__":
    main()
