"""``poskit cards``: the public test-card book."""

from __future__ import annotations

from typing import cast

from rich import box
from rich.table import Table

from poskit.cards.book import CARD_BOOK, TestCard
from poskit.cards.magstripe import chip_track2_for, track2_for
from poskit.cli.app import DataDirOption, JsonOption, app, console, emit_json, settings_from
from poskit.config import Settings
from poskit.money import Amount

__all__ = ["TRY_PAY", "TRY_PAY_ARGS", "TRY_PAY_NG", "TRY_PAY_NG_ARGS", "cards_command", "cards_table"]

#: The first payment `poskit up` and `poskit cards` suggest: a chip card is inserted, not swiped.
TRY_PAY_ARGS = ("pay", "12.50", "--card", "unionpay-debit", "--pin", "123456", "--entry", "chip")
TRY_PAY = "poskit " + " ".join(TRY_PAY_ARGS)
#: The Nigerian first payment: a Verve card at the Lagos merchant's ascii87 terminal, in naira.
TRY_PAY_NG_ARGS = (
    "pay", "1500.00", "--card", "verve-ngn", "--pin", "1111", "--terminal", "30000001", "--entry", "chip",
)  # fmt: skip
TRY_PAY_NG = "poskit " + " ".join(TRY_PAY_NG_ARGS)


def _current_balances(data_dir_settings: Settings) -> dict[str, int]:
    """Live balances from the issuer simulator, when a poskit data directory exists."""
    from sqlalchemy import select

    from poskit.crypto.hsm import SoftHSM
    from poskit.crypto.pan_protect import PanProtector
    from poskit.host.security import load_host_keys, load_lmk
    from poskit.store.db import make_engine
    from poskit.store.schema import issuer_accounts, issuer_cards

    settings = data_dir_settings
    db_file = settings.data_dir / "poskit.sqlite"
    if settings.database_url is None and not db_file.exists():
        return {}
    try:
        lmk = load_lmk(settings.resolved_lmk_file, create=False)
    except FileNotFoundError:
        return {}
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            keys = load_host_keys(conn)
            if "pan_hash" not in keys.blocks:
                return {}
            protector = PanProtector(SoftHSM(lmk), data_key=keys["pan_data"], hash_key=keys["pan_hash"])
            rows = {
                r.pan_hash: r.balance
                for r in conn.execute(
                    select(issuer_cards.c.pan_hash, issuer_accounts.c.balance).select_from(
                        issuer_cards.join(issuer_accounts)
                    )
                )
            }
        return {c.name: rows[h] for c in CARD_BOOK if (h := protector.fingerprint(c.pan)) in rows}
    except Exception:  # a database from another version: show the book's opening balances
        return {}
    finally:
        engine.dispose()


def _row(card: TestCard, balance: int) -> dict[str, object]:
    return {
        "name": card.name,
        "pan": card.pan,
        "scheme": card.scheme,
        "funding": card.funding,
        "interfaces": list(card.interfaces),
        "pin": card.pin,
        "balance": Amount.of(balance, card.currency).plain(),
        "currency": card.currency,
        "status": card.status,
        "expiry": card.expiry,
        "service_code": card.service_code,
        "card_sequence": card.psn,
        # public test tracks: the stripe's (CVV) and the chip's tag 57 (iCVV), '=' separated
        "track2": str(track2_for(card)) if card.has("magstripe") else None,
        "track2_equivalent": str(chip_track2_for(card))
        if card.emv_profile and card.interfaces != ("magstripe",)
        else None,
        "description": card.description,
    }


_READS = {"magstripe": "swipe", "chip": "chip", "contactless": "tap"}


def cards_table(rows: list[dict[str, object]]) -> Table:
    """The card book as a table that fits an 80-column terminal: two lines a card, PANs whole."""
    table = Table(
        title="poskit test cards", box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), pad_edge=False, show_lines=True
    )
    table.add_column("card / PAN", no_wrap=True)
    table.add_column("scheme", no_wrap=True)
    table.add_column("reads", min_width=10, max_width=10)
    table.add_column("PIN", no_wrap=True)
    table.add_column("balance", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for r in rows:
        interfaces = cast(list[str], r["interfaces"])
        expiry = str(r["expiry"])  # YYMM as on the track; cards print MM/YY
        table.add_row(
            f"{r['name']}\n{r['pan']}",
            f"{r['scheme']}\n{r['funding']}",
            " ".join(_READS.get(i, i) for i in interfaces),
            str(r["pin"]),
            f"{r['currency']} {Amount.parse(str(r['balance']), str(r['currency'])).grouped()}",
            f"{r['status']}\nexp {expiry[2:]}/{expiry[:2]}",
        )
    return table


@app.command("cards")
def cards_command(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """The test-card book (public test data: the only place full test PANs are shown)."""
    balances = _current_balances(settings_from(data_dir))
    rows = [_row(c, balances.get(c.name, c.balance)) for c in CARD_BOOK]
    if as_json:
        emit_json(rows)
        return
    console.print(cards_table(rows))
    console.print(f"Pay with one: [bold]{TRY_PAY}[/]")
    console.print(f"In Lagos (NGN): [bold]{TRY_PAY_NG}[/]")
