"""The host's participants: small steps, each with one job, shared by all transactions.

Order for a sale: load the terminal -> verify the MAC -> read the card -> verify
the PIN (HSM) -> authorise and post durably (issuer + ledger, one commit).
Per-transaction state lives only in :class:`~poskit.host.context.HostContext`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from poskit.cards.bins import lookup_bin
from poskit.cards.pan import PanError, mask_pan, validate_pan
from poskit.cards.track2 import ServiceCode, Track2, Track2Error
from poskit.crypto.errors import CryptoError, MacVerificationError, PinBlockFormatError
from poskit.crypto.mac import MacAlgorithm
from poskit.emv.attack_checks import run_attack_checks
from poskit.emv.cryptogram import CryptogramInputError, arqc_input
from poskit.emv.field55 import Field55Error
from poskit.emv.issuer import parse_field55
from poskit.emv.tags import is_sensitive
from poskit.emv.tlv import TlvError
from poskit.host.authorization import (
    AuthResult,
    CardInfo,
    ReversalInput,
    TxnInput,
    apply_reversal,
    authorize_balance,
    authorize_preauth,
    authorize_sale,
    cancel_preauth,
    complete_preauth,
    record_decline,
    refund,
    void_transaction,
)
from poskit.host.context import HostContext
from poskit.host.issuer import PinCheck, check_track_data, find_card
from poskit.host.pipeline import Vote
from poskit.host.registry import TerminalRecord
from poskit.host.security import cvk_key_name
from poskit.iso8583.model import EntryMode, TxnType, WorkingKeys
from poskit.ledger.monitoring import check_authorization, check_terminal_location
from poskit.store.receipt_links import issue_link
from poskit.store.schema import system_keys, terminals
from poskit.store.schema_keys import dukpt_devices

if TYPE_CHECKING:
    from poskit.host.app import HostServices

__all__ = [
    "ApplyReversal",
    "Authorize",
    "CheckBatch",
    "EchoTest",
    "IssueWorkingKeys",
    "LoadTerminal",
    "ReadCard",
    "RecordRefusal",
    "SignOff",
    "VerifyCardData",
    "VerifyCryptogram",
    "VerifyMac",
    "VerifyPin",
    "business_clock",
    "txn_input",
]

_PREPARED = Vote.PREPARED
_READ_ONLY = Vote.PREPARED | Vote.READONLY | Vote.NO_JOIN


def mac_algorithm(name: str) -> MacAlgorithm:
    """A terminal's configured MAC algorithm name, checked."""
    if name not in ("cups-ecb", "x919", "iso9797-1", "cmac", "sm4-ecb"):
        raise ValueError(f"unknown MAC algorithm {name!r}")
    return cast("MacAlgorithm", name)


def business_clock(now_utc: datetime, timezone: str) -> datetime:
    """The acquirer-local wall clock for ``now_utc``."""
    return now_utc.astimezone(ZoneInfo(timezone))


class _Base:
    name = "participant"

    def __init__(self, services: HostServices) -> None:
        self.s = services

    async def commit(self, ctx: HostContext) -> None:
        return None

    async def abort(self, ctx: HostContext) -> None:
        return None


class LoadTerminal(_Base):
    """Find the terminal and its merchant; refuse unknown or suspended ones."""

    name = "load-terminal"

    async def prepare(self, ctx: HostContext) -> Vote:
        record = self.s.terminal(ctx.request.terminal_id)
        if record is None:
            ctx.decline("97", f"terminal {ctx.request.terminal_id!r} is not registered")
            return Vote.ABORTED
        if record.status == "retired":
            ctx.decline("97", f"terminal {record.terminal_id} is retired")
            return Vote.ABORTED
        ctx.terminal = record
        if record.merchant_no != ctx.request.merchant_id.strip():
            ctx.decline("03", "merchant number does not match the terminal's merchant")
            submitted, at = ctx.request.merchant_id.strip(), ctx.received_at
            # one terminal serves one merchant (一机一户): a terminal used for another is flagged
            await self.s.writer.submit(
                lambda conn: check_authorization(
                    conn, terminal_id=record.terminal_id, merchant_no=submitted, now=at
                )
            )
            return Vote.ABORTED
        if record.status != "active" or record.merchant_status != "active":
            ctx.decline("03", "terminal or merchant suspended")
            return Vote.ABORTED
        if record.dialect != ctx.dialect.name:
            ctx.decline("30", f"terminal is configured for the {record.dialect} dialect")
            return Vote.ABORTED
        return _READ_ONLY


class VerifyMac(_Base):
    """Check the request MAC with the terminal's MAK; a bad MAC is answered A0 and changes nothing.

    The A0 answer's header asks for a sign-on (processing requirement 3), but the host keeps the
    terminal's working keys: the genuine terminal, which never saw the forged request, goes on.
    Keys issued by a sign-on are pending until a request MAC'd under them arrives; that request
    promotes them, and until then requests under the previous keys are still accepted.
    """

    name = "verify-mac"

    async def prepare(self, ctx: HostContext) -> Vote:
        t = ctx.terminal
        assert t is not None
        if not ctx.dialect.definition(ctx.request.txn_type).mac:
            return _READ_ONLY
        mac = ctx.dialect.extract_mac(ctx.envelope.message)
        if mac is None:
            ctx.decline("A0", "MAC missing")
            ctx.force_sign_on = True
            await self.s.note_authentication_failure(t, ctx.received_at, ctx.peer, "MAC missing")
            return Vote.ABORTED
        under = self._verifying_key(t, ctx, mac)
        if under is None:
            # the cached record may predate a sign-on handled elsewhere: re-read once before refusing
            fresh = self.s.terminal(t.terminal_id, fresh=True)
            if fresh is not None and fresh != t:
                ctx.terminal = t = fresh
                under = self._verifying_key(t, ctx, mac)
        if under is None and (t.sign_on_required or (t.mak is None and t.pending_mak is None)):
            ctx.decline("A0", "terminal is not signed on (no working keys)")
            ctx.force_sign_on = True
            return Vote.ABORTED
        if under is None:
            # Anyone who read a receipt knows fields 41/42: a forged MAC must not change the terminal's
            # keys or state, or one packet would take the genuine terminal out of service. Count it.
            ctx.decline("A0", "MAC verification failed")
            ctx.force_sign_on = True
            await self.s.note_authentication_failure(t, ctx.received_at, ctx.peer, "MAC verification failed")
            return Vote.ABORTED
        if under == "pending":
            ctx.terminal = await self._promote(t)
        ctx.mac_verified = True
        await record_held_status(self.s, ctx.terminal or t, ctx.peer)
        return _READ_ONLY

    def _verifying_key(self, t: TerminalRecord, ctx: HostContext, mac: bytes) -> str | None:
        """ "current" or "pending": the working keys the MAC verifies under; None if neither."""
        if t.sign_on_required:  # a PIN-block error or a new TMK retired both sets of keys
            return None
        if self._mac_ok(t.mak, t, ctx, mac):
            return "current"
        if self._mac_ok(t.pending_mak, t, ctx, mac):
            return "pending"
        return None

    async def _promote(self, t: TerminalRecord) -> TerminalRecord:
        """The terminal proved it holds the pending keys: they (and their batch) become current."""
        promoted = dataclasses.replace(
            t,
            pik=t.pending_pik,
            mak=t.pending_mak,
            tdk=t.pending_tdk,
            batch_no=t.pending_batch_no if t.pending_batch_no is not None else t.batch_no,
            pending_pik=None,
            pending_mak=None,
            pending_tdk=None,
            pending_batch_no=None,
        )

        def store(conn: Connection) -> None:
            conn.execute(
                update(terminals)
                .where(terminals.c.id == t.id, terminals.c.pending_mak == t.pending_mak)
                .values(
                    pik=promoted.pik,
                    mak=promoted.mak,
                    tdk=promoted.tdk,
                    batch_no=promoted.batch_no,
                    pending_pik=None,
                    pending_mak=None,
                    pending_tdk=None,
                    pending_batch_no=None,
                )
            )

        await self.s.writer.submit(store)
        self.s.forget_terminal(t.terminal_id)
        return promoted

    def _mac_ok(self, key: str | None, t: TerminalRecord, ctx: HostContext, mac: bytes) -> bool:
        if key is None:
            return False
        try:
            self.s.hsm.verify_mac(
                ctx.dialect.mac_input(ctx.envelope.message),
                mac,
                key=key,
                algorithm=mac_algorithm(t.mac_algorithm),
            )
        except (MacVerificationError, CryptoError):
            return False
        return True


class ReadCard(_Base):
    """Card data to a PAN, expiry and service code; Luhn, BIN and entry-mode checks."""

    name = "read-card"

    async def prepare(self, ctx: HostContext) -> Vote:
        t = ctx.terminal
        card = ctx.request.card
        assert t is not None
        if card is None:
            ctx.decline("30", "no card data")
            return Vote.ABORTED
        pan, expiry, service = card.pan, card.expiry, card.service_code
        if card.track2 is not None:
            field35 = card.track2
            if card.track2_encrypted:
                if t.tdk is None:
                    ctx.decline("A7", "track data encrypted but the terminal has no track key")
                    return Vote.ABORTED
                try:
                    field35 = self.s.hsm.decrypt_track2_cups(field35, key=t.tdk)
                except CryptoError:
                    ctx.decline("A7", "track data could not be decrypted")
                    return Vote.ABORTED
            try:
                track = Track2.parse(field35)
            except Track2Error as exc:
                ctx.decline(
                    "14" if "PAN" in exc.reason or "Luhn" in exc.reason else "30", f"track 2: {exc.reason}"
                )
                return Vote.ABORTED
            if pan is not None and pan != track.pan:
                ctx.decline("14", "field 2 does not match the track")
                return Vote.ABORTED
            pan, expiry, service = track.pan, track.expiry, track.service_code
            ctx.track = track
        if pan is None:
            ctx.decline("30", "no PAN in the request")
            return Vote.ABORTED
        try:
            validate_pan(pan)
        except PanError as exc:
            ctx.decline("14", exc.reason)
            return Vote.ABORTED
        if (
            card.entry_mode == EntryMode.SWIPE
            and service is not None
            and ServiceCode(service).chip_card
            and ctx.request.chip_condition != "2"
        ):
            ctx.decline("45", "chip card swiped: insert the card")
            return Vote.ABORTED
        info = lookup_bin(pan)
        protector = self.s.pan_protector
        ctx.pan = pan
        ctx.card = CardInfo(
            pan_hash=protector.fingerprint(pan),
            pan_token=protector.encrypt(pan),
            pan_masked=mask_pan(pan),
            expiry=expiry,
            service_code=service,
            scheme=info.scheme,
            funding=info.funding,
            origin=info.origin(t.acquirer_country),
            card_organisation=info.card_organisation,
            issuer_code=info.issuer_code(pan),
            entry_mode=card.entry_mode.value,
            pin_entered=card.pin_block is not None,
        )
        return _READ_ONLY


class VerifyCardData(_Base):
    """The issuer authenticates the card's track: service code against its record, CVV or iCVV.

    A magstripe read must carry track 2 (30); a chip card swiped without the fallback
    indicator is refused (45); a track whose service code or CVV (iCVV for a chip's track 2
    equivalent) is not the issuer's is declined 05. The issuer's service code also decides
    whether a PIN is required (see :class:`Authorize`).
    """

    name = "verify-card-data"

    async def prepare(self, ctx: HostContext) -> Vote:
        card = ctx.request.card
        assert card is not None and ctx.pan is not None and ctx.card is not None
        issuer_card = self.s.issuer_card(ctx.card.pan_hash)
        if issuer_card is None:
            return _READ_ONLY  # the issuer's own decision (card unknown) follows in Authorize
        ctx.card = dataclasses.replace(ctx.card, issuer_service_code=issuer_card.service_code)
        fallback = card.entry_mode == EntryMode.FALLBACK or (
            card.entry_mode == EntryMode.SWIPE and ctx.request.chip_condition == "2"
        )
        decision = check_track_data(
            self.s.hsm,
            self.s.keys[cvk_key_name(ctx.pan)],
            issuer_card,
            ctx.track,
            pan=ctx.pan,
            swiped=card.entry_mode in (EntryMode.SWIPE, EntryMode.FALLBACK),
            fallback=fallback,
            chip_read=card.entry_mode in (EntryMode.CHIP, EntryMode.CONTACTLESS_CHIP),
        )
        if decision is not None:
            ctx.decline(decision.response_code, decision.reason)
            return Vote.ABORTED
        return _READ_ONLY


class VerifyCryptogram(_Base):
    """Chip and contactless: the ARQC verified by the HSM, replays and known EMV attacks refused."""

    name = "verify-arqc"

    async def prepare(self, ctx: HostContext) -> Vote:
        card = ctx.request.card
        if card is None or card.entry_mode not in (EntryMode.CHIP, EntryMode.CONTACTLESS_CHIP):
            return _READ_ONLY
        assert ctx.pan is not None and ctx.card is not None
        if card.icc_data is None:
            ctx.decline("30", "chip transaction without field 55")
            return Vote.ABORTED
        try:
            icc = parse_field55(card.icc_data)
        except (Field55Error, TlvError) as exc:
            ctx.decline("30", f"field 55: {exc}")
            return Vote.ABORTED
        ctx.icc_presented = icc
        findings = run_attack_checks(
            pan=ctx.pan,
            icc=icc,
            online_pin_present=card.pin_block is not None,
            cvm_required_limit=self.s.contactless_cvm_limit
            if card.entry_mode == EntryMode.CONTACTLESS_CHIP
            else None,
        )
        if findings:
            ctx.decline("59", "EMV check failed: " + "; ".join(f.code for f in findings))
            return Vote.ABORTED
        psn = (card.card_sequence or "00")[-2:]
        try:
            ok = self.s.hsm.verify_arqc(
                imk=self.s.keys["issuer_imk_ac"],
                pan=ctx.pan,
                psn=psn,
                atc=icc["9F36"],
                data=arqc_input(icc),
                arqc=icc["9F26"],
            )
        except (CryptoError, CryptogramInputError) as exc:
            ctx.decline("30", f"cryptogram data: {exc}")
            return Vote.ABORTED
        if not ok:
            ctx.decline("59", "application cryptogram (ARQC) does not verify")
            return Vote.ABORTED
        atc = int.from_bytes(icc["9F36"], "big")
        t, r = ctx.terminal, ctx.request
        assert t is not None
        issuer_card = self.s.issuer_card(ctx.card.pan_hash)
        # a repeat under a stored key is judged by the duplicate rule (its cryptogram must match)
        repeat = self.s.message_stored(
            t.terminal_id, r.batch, r.stan, ctx.dialect.definition(r.txn_type).request_mti
        )
        if (
            not repeat
            and issuer_card is not None
            and issuer_card.last_online_atc is not None
            and atc <= issuer_card.last_online_atc
        ):
            ctx.decline("34", f"ATC {atc} replayed (last online ATC {issuer_card.last_online_atc})")
            return Vote.ABORTED
        ctx.icc = icc
        ctx.atc = atc
        ctx.psn = psn
        return _READ_ONLY


class VerifyPin(_Base):
    """Translate the PIN block to the zone PIN key; the issuer verifies it.

    Fixed-key terminals encrypt under their sign-on PIK. DUKPT terminals send the KSN in
    field 62: it must belong to the terminal's active DUKPT device and its counter must be
    higher than any accepted before (a replayed KSN is refused, A7); the HSM derives the
    PIN key from the BDK. A block that does not decode is answered 99 and, like a MAC error,
    forces a new sign-on (the host stops accepting the old working keys).
    """

    name = "verify-pin"

    async def prepare(self, ctx: HostContext) -> Vote:
        t, card = ctx.terminal, ctx.request.card
        assert t is not None and ctx.pan is not None and ctx.card is not None
        if card is None or card.pin_block is None:
            ctx.pin_check = PinCheck.ABSENT
            return _READ_ONLY
        dukpt = t.key_scheme == "dukpt"
        if not dukpt and t.pik is None:
            ctx.decline("A0", "terminal has no PIN key")
            return Vote.ABORTED
        issuer_card = self.s.issuer_card(ctx.card.pan_hash)
        if issuer_card is None:
            return _READ_ONLY  # the authorisation answers 14
        hsm, keys = self.s.hsm, self.s.keys
        try:
            if dukpt:
                zone_block = await self._translate_dukpt(ctx, card.pin_block)
                if zone_block is None:
                    return Vote.ABORTED
            else:
                assert t.pik is not None
                zone_block = hsm.translate_pin_block(
                    card.pin_block, pan=ctx.pan, source_key=t.pik, dest_key=keys["issuer_zpk"]
                )
            if issuer_card.pin_method == "ibm3624":
                ok = hsm.verify_pin_ibm3624(
                    zone_block,
                    pan=ctx.pan,
                    key=keys["issuer_zpk"],
                    pvk=keys["issuer_pvk_ibm"],
                    offset=issuer_card.pin_verification_value,
                )
            else:
                ok = hsm.verify_pin_pvv(
                    zone_block,
                    pan=ctx.pan,
                    key=keys["issuer_zpk"],
                    pvk=keys["issuer_pvk_visa"],
                    pvki=issuer_card.pvki,
                    pvv=issuer_card.pin_verification_value,
                )
        except PinBlockFormatError:
            ctx.decline("99", "PIN block format error")
            ctx.force_sign_on = True
            await self._require_sign_on(t.id)
            return Vote.ABORTED
        ctx.pin_check = PinCheck.CORRECT if ok else PinCheck.WRONG
        return _READ_ONLY

    async def _require_sign_on(self, terminal_row: int) -> None:
        await self.s.writer.submit(
            lambda conn: conn.execute(
                update(terminals).where(terminals.c.id == terminal_row).values(sign_on_required=True)
            )
        )

    def _stored_repeat(self, ctx: HostContext) -> bool:
        t, r = ctx.terminal, ctx.request
        assert t is not None
        return self.s.message_stored(
            t.terminal_id, r.batch, r.stan, ctx.dialect.definition(r.txn_type).request_mti
        )

    async def _translate_dukpt(self, ctx: HostContext, block: bytes) -> bytes | None:
        """The PIN block under the zone PIN key, or None after declining (A7 / 30)."""
        t, ksn = ctx.terminal, ctx.request.ksn
        assert t is not None and ctx.pan is not None
        if ksn is None:
            ctx.decline("30", "DUKPT PIN block without a KSN (field 62)")
            return None
        with self.s.engine.connect() as conn:
            device = conn.execute(
                select(
                    dukpt_devices.c.id,
                    dukpt_devices.c.scheme,
                    dukpt_devices.c.initial_ksn,
                    dukpt_devices.c.last_counter,
                    system_keys.c.key_block,
                )
                .select_from(dukpt_devices.join(system_keys, system_keys.c.name == dukpt_devices.c.bdk_name))
                .where(dukpt_devices.c.terminal_id == t.id, dukpt_devices.c.status == "active")
                .order_by(dukpt_devices.c.id.desc())
            ).first()
        if device is None:
            ctx.decline("A7", "DUKPT terminal without an injected DUKPT key")
            return None
        aes = device.scheme == "AES"
        initial = bytes.fromhex(device.initial_ksn)
        bits = 32 if aes else 21
        value = int.from_bytes(ksn, "big")
        counter = value & ((1 << bits) - 1)
        if len(ksn) != len(initial) or value >> bits != int.from_bytes(initial, "big") >> bits:
            ctx.decline("A7", "KSN does not belong to this terminal's DUKPT key")
            return None
        # an exact repeat (lost answer, duplicate delivery) carries the original's KSN: the
        # duplicate rule answers it from the original, as for a repeated ARQC's ATC
        repeat = counter <= device.last_counter and self._stored_repeat(ctx)
        if counter <= device.last_counter and not repeat:
            ctx.decline("A7", "DUKPT KSN replayed (transaction counter not increasing)")
            return None
        zone_block = self.s.hsm.dukpt_translate_pin_block(
            block,
            ksn=ksn,
            bdk=device.key_block,
            pan=ctx.pan,
            dest_key=self.s.keys["issuer_zpk"],
            aes=aes,
            source_format=0,  # 8-byte field 52; AES DUKPT uses a 2TDEA PIN key (X9.24-3)
        )
        if repeat:
            return zone_block  # the original advanced the counter already
        device_id = device.id

        def advance(conn):  # type: ignore[no-untyped-def]
            return conn.execute(
                update(dukpt_devices)
                .where(dukpt_devices.c.id == device_id, dukpt_devices.c.last_counter < counter)
                .values(last_counter=counter)
            ).rowcount

        if not await self.s.writer.submit(advance):
            ctx.decline("A7", "DUKPT KSN replayed (transaction counter not increasing)")
            return None
        return zone_block


def _dates(services: HostServices, ctx: HostContext) -> tuple[datetime, str, str, str]:
    t = ctx.terminal
    assert t is not None
    local = business_clock(ctx.received_at, t.timezone)
    return local, local.strftime("%Y-%m-%d"), local.strftime("%m%d"), f"{local:%y}"[-1] + f"{local:%j}"


_JOBS: dict[TxnType, Callable[[Connection, TxnInput], AuthResult]] = {
    TxnType.SALE: authorize_sale,
    TxnType.PREAUTH: authorize_preauth,
    TxnType.BALANCE: authorize_balance,
    TxnType.VOID: lambda conn, inp: void_transaction(conn, inp, original_type="sale"),
    TxnType.COMPLETION_VOID: lambda conn, inp: void_transaction(conn, inp, original_type="completion"),
    TxnType.REFUND: refund,
    TxnType.PREAUTH_VOID: cancel_preauth,
    TxnType.COMPLETION: complete_preauth,
    TxnType.COMPLETION_ADVICE: lambda conn, inp: complete_preauth(conn, inp, advice=True),
}


def txn_input(services: HostServices, ctx: HostContext) -> TxnInput:
    """What the durable step records of this request: terminal, card, dates, chip data (no secrets)."""
    t, r, card = ctx.terminal, ctx.request, ctx.card
    assert t is not None and card is not None
    local, day, mmdd, julian = _dates(services, ctx)
    # the issuer's record decides, not what the track claims; chip cards use their CVM list
    recorded = card.issuer_service_code or card.service_code
    service = ServiceCode(recorded) if recorded else None
    pin_required = bool(
        service
        and service.pin_required
        and card.entry_mode in ("swipe", "fallback", "manual")
        and r.txn_type in (TxnType.SALE, TxnType.PREAUTH, TxnType.BALANCE)
    )
    original = r.original
    definition = ctx.dialect.definition(r.txn_type)
    icc = ctx.icc or ctx.icc_presented
    return TxnInput(
        terminal=t,
        mti=definition.request_mti,
        txn_type=r.txn_type.value,
        stan=r.stan,
        batch=r.batch,
        local_datetime=r.local_datetime.strftime("%m%d%H%M%S") if r.local_datetime else None,
        amount=r.amount.minor if r.amount else 0,
        currency=r.amount.currency.code if r.amount else t.currency,
        card=card,
        pin_check=ctx.pin_check,
        pin_required=pin_required,
        received_at=ctx.received_at,
        issuer_day=day,
        business_date=local,
        settlement_date=mmdd,
        julian=julian,
        auth_code=services.auth_code(),
        atc=ctx.atc,
        submitted_merchant_no=r.merchant_id.strip(),
        emv={tag: value.hex().upper() for tag, value in icc.items() if not is_sensitive(tag)}
        if icc
        else None,
        orig_batch=original.batch if original else None,
        orig_stan=original.stan if original else None,
        orig_date=original.date if original else None,
        orig_rrn=(original.rrn or "").strip() or None if original else None,
        orig_auth_code=(original.auth_code or "").strip() or None if original else None,
        operator=(r.operator or "").strip() or None,
    )


class RecordRefusal(_Base):
    """A card-level refusal before the issuer (replayed ATC 34, bad cryptogram 59, CVV 05, PIN 55...) is
    recorded as a declined transaction, so the merchant sees the attempt in its list and a repeat gets
    the same answer. It joins after the MAC and batch checks: an unauthenticated request records nothing."""

    name = "record-refusal"
    #: participants whose refusal is the card's (or the request's), not the sender's
    RECORDED_AFTER = frozenset(
        {"verify-card-data", "verify-arqc", "verify-pin", "issuer-scripts", "authorize"}
    )

    async def prepare(self, ctx: HostContext) -> Vote:
        return Vote.PREPARED | Vote.READONLY

    async def abort(self, ctx: HostContext) -> None:
        code = ctx.response_code
        if ctx.result is not None or ctx.aborted_by not in self.RECORDED_AFTER or not code or code == "00":
            return  # already recorded by the issuer step, or not the card's refusal
        t, r = ctx.terminal, ctx.request
        assert t is not None
        if self.s.message_stored(
            t.terminal_id, r.batch, r.stan, ctx.dialect.definition(r.txn_type).request_mti
        ):
            return  # its key holds the original: the refusal of a repeat is not a second record
        inp = txn_input(self.s, ctx)
        reason = ctx.reason or code
        ctx.result = await self.s.writer.submit(lambda conn: record_decline(conn, inp, code, reason))


class Authorize(_Base):
    """The durable step: issuer decision, adjustment, record, fee and ledger in one commit."""

    name = "authorize"

    async def prepare(self, ctx: HostContext) -> Vote:
        t, r, card = ctx.terminal, ctx.request, ctx.card
        assert t is not None and card is not None
        job = _JOBS[r.txn_type]
        if r.txn_type != TxnType.BALANCE:
            if r.amount is None or r.amount.minor <= 0:
                ctx.decline("13", "amount missing or zero")
                return Vote.ABORTED
            if r.amount.currency.code != t.currency:
                ctx.decline("13", f"currency {r.amount.currency.code} is not the merchant's {t.currency}")
                return Vote.ABORTED
        inp = txn_input(self.s, ctx)
        link_days = self.s.receipt_link_days if r.txn_type != TxnType.BALANCE else 0

        def link_for(conn: Connection, result: AuthResult) -> str | None:
            if not link_days or result.response_code != "00" or result.transaction_id is None:
                return None
            # the cardholder's e-receipt link; only its digest is stored
            return issue_link(
                conn,
                result.transaction_id,
                now=ctx.received_at,
                lifetime=timedelta(days=link_days),
                random=self.s.random,
            )

        def decide(conn: Connection) -> tuple[AuthResult, str | None]:
            result = job(conn, inp)  # the link goes in the same commit as the record it opens
            return result, link_for(conn, result)

        authorise = getattr(self.s.writer, "authorise", None)
        if authorise is not None:  # the in-memory engine decides, or hands back to ``job``
            result = await authorise(r.txn_type.value, inp, lambda conn: job(conn, inp))
            decided = result
            # its own commit, still before the answer: a link never names a record that is not durable
            ctx.e_receipt_token = await self.s.writer.submit(lambda conn: link_for(conn, decided))
        else:
            result, ctx.e_receipt_token = await self.s.writer.submit(decide)
        ctx.result = result
        ctx.decline(result.response_code, result.message)
        return _PREPARED if result.response_code == "00" else Vote.ABORTED | Vote.NO_JOIN


class CheckBatch(_Base):
    """New transactions must belong to the batch the host has open for the terminal (else 77)."""

    name = "check-batch"

    async def prepare(self, ctx: HostContext) -> Vote:
        t = ctx.terminal
        assert t is not None
        if ctx.request.batch != t.batch_no:
            ctx.decline(
                "77", f"batch {ctx.request.batch:06d} is not the open batch {t.batch_no:06d}: sign on"
            )
            ctx.force_sign_on = True
            return Vote.ABORTED
        return _READ_ONLY


class ApplyReversal(_Base):
    """Reverse the original exactly once (durably) and acknowledge."""

    name = "reverse"

    async def prepare(self, ctx: HostContext) -> Vote:
        t, r = ctx.terminal, ctx.request
        assert t is not None
        original = r.original
        if original is None or original.txn_type is None:
            ctx.decline("30", "reversal without original data")
            return Vote.ABORTED
        _local, day, _mmdd, _julian = _dates(self.s, ctx)
        definition = ctx.dialect.definition(original.txn_type)
        masked = mask_pan(r.card.pan) if r.card is not None and r.card.pan else None
        inp = ReversalInput(
            terminal=t,
            stan=r.stan,
            batch=r.batch,
            original_mti=definition.request_mti,
            original_type=original.txn_type.value,
            reason=r.reversal_reason or "98",
            amount=r.amount.minor if r.amount else 0,
            currency=r.amount.currency.code if r.amount else t.currency,
            local_datetime=r.local_datetime.strftime("%m%d%H%M%S") if r.local_datetime else None,
            received_at=ctx.received_at,
            issuer_day=day,
            pan_masked=masked,
            repeat=r.repeat,
            original_stan=original.stan,
            original_batch=original.batch,
            pan_hash=self.s.pan_protector.fingerprint(r.card.pan)
            if r.card is not None and r.card.pan
            else None,
            amount_sent=r.amount is not None,
        )
        ctx.result = await self.s.writer.submit(lambda conn: apply_reversal(conn, inp))
        ctx.decline(ctx.result.response_code, ctx.result.message)
        return _PREPARED


class IssueWorkingKeys(_Base):
    """Sign-on: fresh PIK, MAK and TDK under the TMK, check values, a batch number."""

    name = "issue-working-keys"

    async def prepare(self, ctx: HostContext) -> Vote:
        # keys may have been injected or re-wrapped since the record was cached: always read it fresh
        fresh = self.s.terminal(ctx.request.terminal_id, fresh=True)
        if fresh is not None:
            ctx.terminal = fresh
        t = ctx.terminal
        assert t is not None
        if t.tmk is None:
            ctx.decline("A7", "no terminal master key: inject keys first")
            return Vote.ABORTED
        hsm = self.s.hsm
        scheme = ctx.request.key_scheme or "004"
        if scheme not in ("003", "004"):
            ctx.decline("40", f"key scheme {scheme} (single DES or SM4) is not offered: use 003 or 004")
            return Vote.ABORTED
        x919 = t.mac_algorithm == "x919"
        pik = hsm.generate_key("P0", algorithm="TDES", length=16, mode="B")
        mak = hsm.generate_key("M3" if x919 else "M0", algorithm="TDES", length=16 if x919 else 8, mode="C")
        tdk = hsm.generate_key("D0", algorithm="TDES", length=16, mode="B") if scheme == "004" else None
        mak_cipher = hsm.export_key_under_kek(mak, kek=t.tmk)
        if len(mak_cipher) == 8:
            mak_cipher += bytes(8)  # the 004 layout: single-length MAK, then eight zero bytes
        ctx.working_keys = WorkingKeys(
            pik=hsm.export_key_under_kek(pik, kek=t.tmk),
            pik_kcv=hsm.kcv(pik, length=4),
            mak=mak_cipher,
            mak_kcv=hsm.kcv(mak, length=4),
            tdk=hsm.export_key_under_kek(tdk, kek=t.tmk) if tdk else None,
            tdk_kcv=hsm.kcv(tdk, length=4) if tdk else None,
        )
        now = ctx.received_at
        batch = max(t.batch_no, ctx.request.batch or 1)
        # An 0800 carries no MAC: anyone can send one. While the terminal holds working keys the new
        # ones wait as pending (with the batch), so a spoofed sign-on cannot retire the keys (or the
        # batch) of the genuine terminal; its first request MAC'd under them promotes them.
        keys_in_use = t.mak is not None and not t.sign_on_required
        values: dict[str, object] = (
            {"pending_pik": pik, "pending_mak": mak, "pending_tdk": tdk, "pending_batch_no": batch}
            if keys_in_use
            else {
                "pik": pik,
                "mak": mak,
                "tdk": tdk,
                "batch_no": batch,
                "sign_on_required": False,
                "pending_pik": None,
                "pending_mak": None,
                "pending_tdk": None,
                "pending_batch_no": None,
            }
        )

        def store(conn: Connection) -> None:
            conn.execute(
                update(terminals)
                .where(terminals.c.id == t.id)
                .values(signed_on_at=now, last_seen_at=now, **values)
            )

        await self.s.writer.submit(store)
        ctx.assigned_batch = batch
        ctx.decline("00", f"signed on, key scheme {scheme}")
        return _PREPARED


class SignOff(_Base):
    """Sign-off (签退) is acknowledged and changes nothing at the host.

    An 0820 carries no MAC: the host cannot tell the terminal's own sign-off from one sent by anyone
    who read fields 41/42 off a receipt. So the working keys stay valid; the terminal, which drops its
    keys, signs on before its next transaction, and that sign-on's keys replace them once its first
    MAC'd request proves it holds them (the pending-key rule of IssueWorkingKeys).
    """

    name = "sign-off"

    async def prepare(self, ctx: HostContext) -> Vote:
        ctx.decline("00", "signed off (unauthenticated: keys unchanged)")
        return _READ_ONLY


class EchoTest(_Base):
    """Echo test (回响测试): a registered terminal checking the line is answered 00; nothing is written."""

    name = "echo"

    async def prepare(self, ctx: HostContext) -> Vote:
        ctx.decline("00", "echo")
        return _READ_ONLY


class Settle(_Base):
    """0500: reconcile the terminal's totals with the host's; close the batch when balanced."""

    name = "settle"

    async def prepare(self, ctx: HostContext) -> Vote:
        from poskit.host.settlement import settle_batch

        t, r = ctx.terminal, ctx.request
        assert t is not None
        if r.totals is None:
            ctx.decline("30", "settlement without totals (field 48)")
            return Vote.ABORTED
        if r.batch != t.batch_no:
            ctx.decline("77", f"settlement of batch {r.batch:06d} but the open batch is {t.batch_no:06d}")
            return Vote.ABORTED
        _local, day, _mmdd, _julian = _dates(self.s, ctx)
        totals = r.totals
        ctx.settlement = await self.s.writer.submit(
            lambda conn: settle_batch(conn, t, r.batch, totals, now=ctx.received_at, business_date=day)
        )
        ctx.decline("00", "balanced" if ctx.settlement.balanced else "not balanced: batch upload expected")
        return _PREPARED


class BatchUpload(_Base):
    """0320: details of an unbalanced batch (201), and its end (202/207)."""

    name = "batch-upload"

    async def prepare(self, ctx: HostContext) -> Vote:
        from poskit.host.settlement import end_upload, record_upload

        t, r = ctx.terminal, ctx.request
        assert t is not None
        upload = r.batch_upload
        if upload is None:
            ctx.decline("30", "batch upload without content")
            return Vote.ABORTED
        if r.txn_type == TxnType.BATCH_UPLOAD_END:
            code = await self.s.writer.submit(
                lambda conn: end_upload(conn, t.terminal_id, r.batch, upload.count, now=ctx.received_at)
            )
        elif upload.code == "201":
            code = await self.s.writer.submit(
                lambda conn: record_upload(conn, t.terminal_id, r.batch, upload.items)
            )
        else:
            code = "00"  # IC details (203/205): the host already holds each IC transaction's data
        ctx.decline(code, "upload recorded" if code == "00" else "no settlement for that batch")
        return _PREPARED if code == "00" else Vote.ABORTED


class ScriptAdvice(_Base):
    """0620: the card's issuer-script results (DF31) close the issuer's pending action."""

    name = "script-advice"

    async def prepare(self, ctx: HostContext) -> Vote:
        from poskit.host.issuer_scripts import record_script_results

        r = ctx.request
        icc = r.card.icc_data if r.card else None
        rrn = r.original.rrn if r.original else None
        if icc is None or rrn is None:
            ctx.decline("30", "script advice without field 55 or the original reference number")
            return Vote.ABORTED
        code = await self.s.writer.submit(
            lambda conn: record_script_results(conn, rrn.strip(), icc, now=ctx.received_at)
        )
        ctx.decline(code, "script results recorded" if code == "00" else "original not found")
        return _PREPARED


class StatusUpload(_Base):
    """0820 status upload / heartbeat: power, paper, network, versions, uptime and storage for the TMS.

    The 0820 carries no MAC, so the report is held (the latest per terminal and IP address, in this
    host process) and recorded only when a request from the terminal from that address next verifies
    its MAC: a stranger elsewhere who knows fields 41/42 cannot overwrite the genuine terminal's
    status or raise a location flag with it.
    """

    name = "status-upload"

    async def prepare(self, ctx: HostContext) -> Vote:
        t = ctx.terminal
        assert t is not None
        info = _parse_status(ctx.request.terminal_info or b"")
        values: dict[str, object] = {"last_seen_at": ctx.received_at, **_power_values(info)}
        if "network" in info:
            values["network"] = info["network"][:20]
        if "version" in info:
            values["software_version"] = info["version"][:20]
        if "location" in info:
            values["location"] = info["location"][:120]
        values.update(_heartbeat_values(info))
        report = StatusReport(values, _position(info.get("gps", "")), ctx.received_at)
        self.s.hold_status(t.terminal_id, ctx.peer, report)
        ctx.decline("00", "status held until the terminal's next authenticated request")
        return _READ_ONLY


@dataclasses.dataclass(frozen=True, slots=True)
class StatusReport:
    """An 0820 status report waiting for the terminal to authenticate."""

    values: dict[str, object]
    position: tuple[float, float] | None
    received_at: datetime


async def record_held_status(services: HostServices, t: TerminalRecord, peer: str) -> None:
    """Record the report held for the terminal from ``peer``'s address: the sender just proved it
    holds the terminal's keys, so the address speaks for the terminal."""
    report = services.take_status(t.terminal_id, peer)
    if report is None:
        return

    def record(conn: Connection) -> None:
        conn.execute(update(terminals).where(terminals.c.id == t.id).values(**report.values))
        if report.position is not None:  # a terminal far from its registered site is flagged
            check_terminal_location(
                conn,
                terminal_id=t.terminal_id,
                latitude=report.position[0],
                longitude=report.position[1],
                source="gps",
                now=report.received_at,
            )

    await services.writer.submit(record)


def _power_values(info: dict[str, str]) -> dict[str, object]:
    """Power columns from the status TLV: on mains there is no battery reading at all (never 0 %).

    A terminal that sends no ``power`` key (older software) is on battery only if it sent a
    non-zero level; its ``battery=0`` meant "no battery"."""
    level = info.get("battery", "")
    percent = min(100, int(level)) if level.isdigit() else None
    source = info.get("power", "").lower()
    if source not in ("mains", "battery"):
        source = "battery" if percent else "mains"
    if source == "mains":
        return {"power_source": "mains", "battery_percent": None, "charging": None}
    return {"power_source": "battery", "battery_percent": percent, "charging": info.get("charging") == "1"}


def _heartbeat_values(info: dict[str, str]) -> dict[str, object]:
    """Paper, parameter version, uptime and free storage; a key absent or unreadable is left as stored."""
    values: dict[str, object] = {}
    paper = info.get("paper", "").lower()
    if paper in ("ok", "low", "out"):
        values["paper"] = paper
    if "params" in info:
        values["parameter_version"] = info["params"][:20]
    for key, column in (("uptime", "uptime_seconds"), ("storage", "storage_free_mb")):
        text = info.get(key, "")
        if text.isdigit() and len(text) <= 9:  # fits the integer column on every database
            values[column] = int(text)
    return values


def _position(text: str) -> tuple[float, float] | None:
    """``"lat,lon"`` in decimal degrees, or None when absent or not a position on Earth."""
    lat_text, sep, lon_text = text.partition(",")
    try:
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        return None
    return (lat, lon) if sep and -90 <= lat <= 90 and -180 <= lon <= 180 else None


def _parse_status(data: bytes) -> dict[str, str]:
    """Terminal status TLV of field 62 in poskit's layout: ASCII ``key=value`` pairs separated by ``;``."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return {}
    out: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            out[key.strip().lower()] = value.strip()
    return out


class AttachIssuerScripts(_Base):
    """A chip card with an issuer action waiting gets its script (72) in this response's field 55."""

    name = "issuer-scripts"

    async def prepare(self, ctx: HostContext) -> Vote:
        from poskit.host.issuer_scripts import mark_sent, pending_action, script_for

        if ctx.icc is None or ctx.card is None or ctx.pan is None:
            return _READ_ONLY
        with self.s.engine.connect() as conn:
            issuer_card = find_card(conn, ctx.card.pan_hash)
            action = pending_action(conn, issuer_card.id) if issuer_card is not None else None
        if action is None:
            return _READ_ONLY
        pan, psn, atc = ctx.pan, ctx.psn or "00", ctx.icc["9F36"]

        def mac(data: bytes) -> bytes:
            return self.s.hsm.generate_script_mac(
                imk=self.s.keys["issuer_imk_smi"], pan=pan, psn=psn, atc=atc, data=data
            )

        ctx.issuer_scripts.append(script_for(action["action"], atc=atc, arqc=ctx.icc["9F26"], mac=mac))
        action_id = int(action["id"])
        await self.s.writer.submit(lambda conn: mark_sent(conn, action_id, now=ctx.received_at))
        return _READ_ONLY


class StoreSignature(_Base):
    """0820 (60.3 = 800/801): the cardholder's e-signature, in one or more chunks, kept with the sale."""

    name = "signature"

    async def prepare(self, ctx: HostContext) -> Vote:
        from poskit.host.signatures import store_signature_chunk

        t, r = ctx.terminal, ctx.request
        assert t is not None
        upload = r.signature
        rrn = (r.original.rrn or "").strip() if r.original else ""
        if upload is None or not rrn:
            ctx.decline("30", "signature upload without image or reference number")
            return Vote.ABORTED
        settlement_date = r.original.settlement_date if r.original else None
        code = await self.s.writer.submit(
            lambda conn: store_signature_chunk(
                conn,
                terminal_id=t.terminal_id,
                rrn=rrn,
                settlement_date=settlement_date,
                chunk=upload.image,
                continuation=upload.continuation,
                receipt_tlv=upload.receipt_tlv,
                now=ctx.received_at,
            )
        )
        ctx.decline(code, "signature stored" if code in ("00", "94") else "signature refused")
        return _PREPARED
