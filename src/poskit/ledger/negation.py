"""How the ledger recognises that a journal has been undone, in SQL.

Corrections are new journals, never edits, and the host undoes a transaction in two ways:

* a reversal (0400) posts ``<key>:negated-by:<reason>`` (kind ``<reason>``) for each journal
  of the original, attached to the original (:func:`poskit.ledger.events.negate_transaction`);
* a void or cancel is a transaction of its own (``original_id`` = the original) whose journals
  mirror the original's, keyed ``txn:<void>:<reason>:<original journal id>`` (kind ``<reason>``,
  :func:`poskit.ledger.events.mirror_journals`); it undoes the original only while the void
  itself stands (a reversed void gives the money back to the original).

Both are found set-based — one pass over the undoing journals, then a key lookup — never
with a correlated subquery per journal (a million sales would each pay for it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, String, and_, cast, func, literal, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from poskit.store.schema import journal_entries, transactions

__all__ = ["DEPENDENT_TYPES", "undo_counts", "undo_targets", "undone"]

#: Transaction types that undo (part of) their original, recorded with ``original_id``.
DEPENDENT_TYPES = ("void", "completion_void", "preauth_void")

_MARK = ":negated-by:"


def undo_targets() -> Any:
    """SELECT of ``journal_id``: one row per undoing journal, naming the journal it undoes."""
    negation = journal_entries.alias("negation")
    original = journal_entries.alias("original")
    suffix_length = func.length(literal(_MARK) + negation.c.kind)
    by_reversal = (
        select(original.c.id.label("journal_id"))
        .select_from(negation)
        .join(
            original,
            original.c.idempotency_key
            == func.substr(
                negation.c.idempotency_key, 1, func.length(negation.c.idempotency_key) - suffix_length
            ),
        )
        .where(negation.c.idempotency_key.like(f"%{_MARK}%"))
    )
    mirror = journal_entries.alias("mirror")
    void = transactions.alias("void")
    prefix = literal("txn:") + cast(void.c.id, String) + literal(":") + mirror.c.kind + literal(":")
    by_void = (
        select(
            cast(func.substr(mirror.c.idempotency_key, func.length(prefix) + 1), Integer).label("journal_id")
        )
        .select_from(mirror.join(void, void.c.id == mirror.c.transaction_id))
        .where(
            void.c.txn_type.in_(DEPENDENT_TYPES),
            void.c.status.not_in(("reversed", "declined")),
            ~mirror.c.idempotency_key.like(f"%{_MARK}%"),
            func.substr(mirror.c.idempotency_key, 1, func.length(prefix)) == prefix,
            mirror.c.kind != "preauth_release",
        )
    )
    return union_all(by_reversal, by_void)


def undone(journal: Any) -> ColumnElement[bool]:
    """True when ``journal`` (journal_entries or an alias) is reversed or voided."""
    targets = undo_targets().subquery("undo_targets")
    return and_(journal.c.id.is_not(None), journal.c.id.in_(select(targets.c.journal_id)))


def undo_counts() -> Any:
    """Subquery (``journal_id``, ``undos``): how many times each undone journal was undone."""
    targets = undo_targets().subquery("undo_targets")
    return (
        select(targets.c.journal_id, func.count().label("undos"))
        .group_by(targets.c.journal_id)
        .subquery("undo_counts")
    )
