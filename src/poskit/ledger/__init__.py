"""The acquirer's money: double-entry ledger, fees, settlement, payouts, disputes and compliance.

Modules: accounts, posting, events (what the host posts), negation (how undoing is recognised),
balances (roll-ups), fees, audit, settlement (cut-off), payouts, reconciliation, statements,
disputes, merchant_changes, monitoring, check, views, directory, demo.
"""

from __future__ import annotations

__all__: list[str] = []
