"""The bank simulator: customers, accounts, money, digital life, service, churn, fraud, campaigns.

``synthesize(SimulationConfig(...), out)`` writes one file per canonical table plus labels and
truth under ``out/truth``; the same config always produces byte-identical files.
"""

from __future__ import annotations

from tenure.data.simulator.config import SimulationConfig
from tenure.data.simulator.run import SynthesisSummary, synthesize

__all__ = ["SimulationConfig", "SynthesisSummary", "synthesize"]
