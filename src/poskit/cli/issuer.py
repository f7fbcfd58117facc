"""``poskit issuer``: the issuer simulator's side (queue issuer scripts for a card)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy import select

from poskit.cards.book import UnknownCardError, card_by_name
from poskit.cli.app import DataDirOption, JsonOption, app, console, emit_json, fail, settings_from
from poskit.crypto.pan_protect import PanProtector
from poskit.host.issuer_scripts import ACTIONS, queue_action
from poskit.host.security import open_host_database
from poskit.store.db import WRITE
from poskit.store.schema import issuer_cards

__all__ = ["issuer_app"]

issuer_app = typer.Typer(help="The issuer simulator.", no_args_is_help=True)
app.add_typer(issuer_app, name="issuer")


@issuer_app.command("script")
def script_command(
    card: Annotated[str, typer.Option("--card", help="Test card name.")],
    action: Annotated[str, typer.Option("--action", help="pin-unblock | application-block")],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Queue an issuer script: it reaches the card at its next online chip transaction."""
    name = action.replace("-", "_")
    if name not in ACTIONS:
        fail(f"--action must be one of {', '.join(a.replace('_', '-') for a in ACTIONS)}", as_json=as_json)
    try:
        test_card = card_by_name(card)
    except UnknownCardError as exc:
        fail(str(exc), as_json=as_json)
    engine, hsm, keys = open_host_database(settings_from(data_dir))
    try:
        protector = PanProtector(hsm, data_key=keys["pan_data"], hash_key=keys["pan_hash"])
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            card_id = conn.execute(
                select(issuer_cards.c.id).where(
                    issuer_cards.c.pan_hash == protector.fingerprint(test_card.pan)
                )
            ).scalar()
            if card_id is None:
                fail(f"the issuer has no card {card}: run `poskit up` first", as_json=as_json)
            action_id = queue_action(conn, int(card_id), name, now=datetime.now(UTC))
    finally:
        engine.dispose()
    if as_json:
        emit_json({"card": card, "action": name, "id": action_id, "status": "pending"})
    else:
        console.print(f"queued {name} for {card}: it is sent with the card's next chip transaction")
