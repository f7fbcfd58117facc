"""``transactions show`` states the slip's signature: not required, missing (补签) or signed."""

from __future__ import annotations

from ledger_world import NOW, World
from sqlalchemy import insert, update

from poskit.ledger.views import describe_transaction
from poskit.store.schema import transactions
from poskit.store.schema_terminal_day import signatures


def test_signature_state_follows_the_stored_flag_and_the_signature_on_file(sqlite_world: World) -> None:
    """The stored flag says required; outstanding until a complete signature is on file; PIN: not required."""
    world = sqlite_world
    pin_sale = world.sale(5000, pin=True)
    no_pin = world.sale(8800)
    with world.begin() as conn:
        conn.execute(
            update(transactions).where(transactions.c.id == no_pin.id).values(signature_required=True)
        )
    with world.engine.connect() as conn:
        assert describe_transaction(conn, rrn=pin_sale.rrn)["signature"] == {
            "required": False,
            "signed": False,
            "outstanding": False,
        }
        assert describe_transaction(conn, rrn=no_pin.rrn)["signature"]["outstanding"] is True
    with world.begin() as conn:
        conn.execute(
            insert(signatures).values(
                transaction_id=no_pin.id,
                terminal_id="10000001",
                rrn=no_pin.rrn,
                image=b"\x89PNG",
                image_format="png",
                complete=True,
                source="portal",
                uploaded_at=NOW,
            )
        )
    with world.engine.connect() as conn:
        assert describe_transaction(conn, rrn=no_pin.rrn)["signature"] == {
            "required": True,
            "signed": True,
            "outstanding": False,
        }
