"""Slips still waiting for the cardholder's signature (补签), as SQL over the host's records.

The host stored :mod:`poskit.signature_rule`'s answer with each transaction
(``transactions.signature_required``); a slip is outstanding while that transaction is
in force (approved, a held or completed pre-authorisation) and no complete signature
(terminal upload or portal) is on file. The portal's unsigned list and the merchant's
statement both use this clause.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, not_

from poskit.signature_rule import UNSIGNED_STATUSES
from poskit.store.schema import transactions
from poskit.store.schema_terminal_day import signatures

__all__ = ["signed_clause", "unsigned_clause"]


def signed_clause() -> ColumnElement[bool]:
    """A complete signature is on file for the ``transactions`` row of the outer query."""
    return and_(signatures.c.transaction_id == transactions.c.id, signatures.c.complete.is_(True))


def unsigned_clause() -> ColumnElement[bool]:
    """The ``transactions`` row needs a signature, is still in force, and none is on file."""
    c = transactions.c
    return and_(
        c.signature_required.is_(True),
        c.status.in_(UNSIGNED_STATUSES),
        not_(exists().where(signed_clause())),
    )
