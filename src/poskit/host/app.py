"""The acquirer host application: one framed request in, one framed response out.

``HostApp.handle`` never raises for bad input: a frame it cannot split gets the
connection closed, a message it cannot decode gets a format error (30), an
unknown transaction 12 / 40, and everything else the pipeline's answer, MAC'd with
the terminal's current MAK.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from poskit.crypto.errors import CryptoError
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.pan_protect import PanProtector
from poskit.emv.cryptogram import issuer_authentication_data
from poskit.emv.issuer import response_icc_data
from poskit.host.authorization import find_message
from poskit.host.connections import PeerNotes, RateLimitedLog
from poskit.host.context import HostContext
from poskit.host.issuer import IssuerCard, find_card
from poskit.host.participants import (
    ApplyReversal,
    AttachIssuerScripts,
    Authorize,
    BatchUpload,
    CheckBatch,
    EchoTest,
    IssueWorkingKeys,
    LoadTerminal,
    ReadCard,
    RecordRefusal,
    ScriptAdvice,
    Settle,
    SignOff,
    StatusReport,
    StatusUpload,
    StoreSignature,
    VerifyCardData,
    VerifyCryptogram,
    VerifyMac,
    VerifyPin,
    business_clock,
    mac_algorithm,
)
from poskit.host.pipeline import TransactionManager
from poskit.host.registry import TerminalRecord, load_terminal
from poskit.host.security import HostKeys
from poskit.iso8583.dialects import Dialect, get_dialect
from poskit.iso8583.errors import Iso8583Error, MessageFormatError, UnknownTransactionError
from poskit.iso8583.framing import Envelope
from poskit.iso8583.message import IsoMessage
from poskit.iso8583.model import Response, TxnType
from poskit.ledger.monitoring import raise_flag
from poskit.logs import get_logger
from poskit.money import Amount, currency
from poskit.store.receipt_links import DEFAULT_LINK_DAYS
from poskit.store.writer import GroupCommitWriter

__all__ = ["GROUPS", "HostApp", "HostServices", "exchange_reference"]

#: Messages after which the host's copy of the terminal record is stale (keys, batch, status).
_CHANGES_TERMINAL = frozenset({TxnType.SIGN_ON, TxnType.SETTLEMENT, TxnType.STATUS_UPLOAD})

#: Status reports held at most (per terminal and address) until their sender authenticates.
_MAX_HELD_STATUS = 10_000

#: Management answers that carry a reference of the exchange in 37 (no transaction row behind them).
_EXCHANGE_REFERENCED = frozenset({TxnType.SIGN_ON, TxnType.SETTLEMENT})

#: Responses that carry issuer authentication data (91) for the card.
_CHIP_RESPONSES = frozenset({TxnType.SALE, TxnType.PREAUTH, TxnType.BALANCE})

_log = get_logger("poskit.host")

T = TxnType

#: Which participant group handles each transaction type.
GROUPS: dict[TxnType, str] = {
    T.SALE: "authorise",
    T.PREAUTH: "authorise",
    T.BALANCE: "authorise",
    T.VOID: "adjust",
    T.REFUND: "adjust",
    T.PREAUTH_VOID: "adjust",
    T.COMPLETION: "adjust",
    T.COMPLETION_VOID: "adjust",
    T.COMPLETION_ADVICE: "adjust",
    T.SETTLEMENT: "settlement",
    T.BATCH_UPLOAD: "batch-upload",
    T.BATCH_UPLOAD_END: "batch-upload",
    T.SCRIPT_ADVICE: "script-advice",
    T.STATUS_UPLOAD: "status",
    T.SIGNATURE_UPLOAD: "signature",
    T.REVERSAL: "reversal",
    T.SIGN_ON: "sign-on",
    T.SIGN_OFF: "sign-off",
    T.ECHO: "echo",
}


@dataclasses.dataclass
class HostServices:
    """Shared, long-lived resources the participants use."""

    engine: Engine
    writer: GroupCommitWriter
    hsm: SoftHSM
    keys: HostKeys
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    random: Callable[[int], bytes] = os.urandom
    timezone: str = "UTC"  # before the terminal is known: the first acquirer's zone (registry.home_timezone)
    contactless_cvm_limit: int = 100_000  # minor units: above it a tap needs a cardholder verification
    receipt_link_days: int = DEFAULT_LINK_DAYS  # how long a slip's e-receipt link opens the receipt

    def __post_init__(self) -> None:
        self.pan_protector = PanProtector(
            self.hsm, data_key=self.keys["pan_data"], hash_key=self.keys["pan_hash"]
        )
        self._terminals: dict[str, tuple[float, TerminalRecord]] = {}
        self._auth_failures: dict[str, list[float]] = {}
        self._held_status: dict[tuple[str, str], StatusReport] = {}

    def hold_status(self, terminal_id: str, peer: str, report: StatusReport) -> None:
        """Keep an unauthenticated status report per terminal and sending IP address (latest wins)."""
        if len(self._held_status) >= _MAX_HELD_STATUS:  # a flood of forged reports: drop the oldest
            del self._held_status[next(iter(self._held_status))]
        self._held_status[(terminal_id, _address(peer))] = report

    def take_status(self, terminal_id: str, peer: str) -> StatusReport | None:
        """The report held for a terminal that just authenticated from ``peer``'s address, once."""
        return self._held_status.pop((terminal_id, _address(peer)), None)

    #: How long a terminal record may be reused without re-reading it (other host processes may change
    #: it: a sign-on elsewhere rotates its keys; a MAC failure always re-reads before answering A0).
    terminal_cache_seconds: float = 2.0

    def terminal(self, terminal_id: str, *, fresh: bool = False) -> TerminalRecord | None:
        now = time.monotonic()
        cached = self._terminals.get(terminal_id)
        if cached is not None and not fresh and cached[0] > now:
            return cached[1]
        with self.engine.connect() as conn:
            record = load_terminal(conn, terminal_id)
        if record is not None:
            self._terminals[terminal_id] = (now + self.terminal_cache_seconds, record)
        else:
            self._terminals.pop(terminal_id, None)
        return record

    def issuer_card(self, pan_hash: str) -> IssuerCard | None:
        """The issuer's record of a card: from the in-memory engine's state, else from the database."""
        card = getattr(self.writer, "card", None)
        if card is not None:
            return card(pan_hash)  # type: ignore[no-any-return]
        with self.engine.connect() as conn:
            return find_card(conn, pan_hash)

    def message_stored(self, terminal_id: str, batch: int, stan: int, mti: str) -> bool:
        """Whether a message with this key (terminal, batch, trace, MTI) is stored already."""
        stored = getattr(self.writer, "message_stored", None)
        known = stored(terminal_id, batch, stan, mti) if stored is not None else None
        if known is not None:
            return bool(known)
        with self.engine.connect() as conn:
            return find_message(conn, terminal_id, batch, stan, mti) is not None

    def forget_terminal(self, terminal_id: str) -> None:
        self._terminals.pop(terminal_id, None)

    #: Failed authentications (bad or missing MAC) per terminal in one window before it is flagged.
    auth_failure_threshold: int = 5
    auth_failure_window_seconds: float = 3600.0

    async def note_authentication_failure(
        self, terminal: TerminalRecord, at: datetime, peer: str, reason: str
    ) -> None:
        """Count a request that failed authentication; flag the terminal once the count reaches the threshold.

        Nothing about the terminal changes (keys, sign-on state): the count only informs staff,
        through a ``authentication_failures`` flag in the portal's flag list and ``poskit terminals``.
        """
        now = time.monotonic()
        recent = [
            t
            for t in self._auth_failures.get(terminal.terminal_id, [])
            if now - t < self.auth_failure_window_seconds
        ]
        recent.append(now)
        self._auth_failures[terminal.terminal_id] = recent
        _log.warning("auth.failure", tid=terminal.terminal_id, peer=peer, reason=reason, count=len(recent))
        if len(recent) != self.auth_failure_threshold:
            return
        window = int(at.timestamp() // self.auth_failure_window_seconds)
        summary = (
            f"{len(recent)} requests failed authentication within the hour (last: {reason}, from {peer})"
        )

        def flag(conn: Connection) -> None:
            raise_flag(
                conn,
                key=f"auth-failures:{terminal.terminal_id}:{window}",
                kind="authentication_failures",
                severity="high",
                summary=summary,
                details={"count": len(recent), "reason": reason, "peer": peer},
                now=at,
                merchant_id=terminal.merchant_id,
                terminal_id=terminal.terminal_id,
            )

        await self.writer.submit(flag)

    def auth_code(self) -> str:
        return f"{int.from_bytes(self.random(4), 'big') % 1_000_000:06d}"


class HostApp:
    """Decode, route through the pipeline, answer."""

    def __init__(self, services: HostServices) -> None:
        self.s = services
        # hostile frames arrive by the thousand: a few lines per minute, then a count
        self.bad_frame_log = RateLimitedLog(_log)
        self.dialects: dict[str, Dialect] = {name: get_dialect(name) for name in ("cups", "ascii87")}
        load, mac, batch = LoadTerminal(services), VerifyMac(services), CheckBatch(services)
        card, arqc, pin = ReadCard(services), VerifyCryptogram(services), VerifyPin(services)
        track = VerifyCardData(services)
        authorize = Authorize(services)
        self.tm: TransactionManager[HostContext] = TransactionManager(
            {
                "authorise": [
                    load,
                    mac,
                    batch,
                    card,
                    RecordRefusal(services),  # from here on a refusal is the card's: recorded
                    track,
                    arqc,
                    pin,
                    AttachIssuerScripts(services),
                    authorize,
                ],
                "adjust": [load, mac, batch, card, pin, authorize],
                "reversal": [load, mac, ApplyReversal(services)],
                "settlement": [load, mac, Settle(services)],
                "batch-upload": [load, mac, BatchUpload(services)],
                "script-advice": [load, mac, ScriptAdvice(services)],
                "status": [load, mac, StatusUpload(services)],
                "signature": [load, mac, StoreSignature(services)],
                "sign-on": [load, IssueWorkingKeys(services)],
                "sign-off": [load, SignOff(services)],
                "echo": [load, EchoTest(services)],
            }
        )

    def sniff(self, payload: bytes) -> Dialect | None:
        """cups frames start with a TPDU (0x60); ascii87 frames with ASCII MTI digits."""
        if not payload:
            return None
        if payload[0] == 0x60:
            return self.dialects["cups"]
        if 0x30 <= payload[0] <= 0x39:
            return self.dialects["ascii87"]
        return None

    async def handle(self, payload: bytes, peer: str, *, notes: PeerNotes | None = None) -> bytes | None:
        """The framed response to one frame payload, or None to close the connection.

        ``notes`` (when given) learns whether the frame was bad, a valid message from a
        registered terminal, and whether its MAC verified: the TCP server's connection limits
        tell terminals from strangers by it.
        """
        notes = notes if notes is not None else PeerNotes()
        received_at = self.s.clock()
        dialect = self.sniff(payload)
        if dialect is None:
            notes.bad = True
            self.bad_frame_log.warning("frame.unknown_dialect", peer=peer, first_byte=payload[:1].hex())
            return None
        try:
            envelope = dialect.unframe(payload)
        except Iso8583Error as exc:
            notes.bad = True
            self.bad_frame_log.warning("frame.bad_envelope", peer=peer, error=str(exc))
            return None
        try:
            message = dialect.decode(envelope.message)
        except MessageFormatError as exc:
            notes.bad = True
            self.bad_frame_log.warning("message.format_error", peer=peer, error=str(exc))
            partial = exc.partial
            return self._error_reply(dialect, envelope, partial, "30")
        try:
            request = dialect.decode_request(
                message, now=business_clock(received_at, self.s.timezone).replace(tzinfo=None)
            )
        except UnknownTransactionError as exc:
            notes.bad = True
            self.bad_frame_log.warning("message.unknown_transaction", peer=peer, error=str(exc))
            return self._error_reply(dialect, envelope, message, exc.response_code)
        except (MessageFormatError, Iso8583Error) as exc:
            notes.bad = True
            self.bad_frame_log.warning("message.format_error", peer=peer, error=str(exc))
            return self._error_reply(dialect, envelope, message, "30")
        ctx = HostContext(
            dialect=dialect,
            envelope=envelope,
            message=message,
            request=request,
            received_at=received_at,
            peer=peer,
        )
        group = GROUPS.get(request.txn_type)
        if group is None:
            ctx.decline("40", f"{request.txn_type.value} is not supported by this host")
        else:
            await self.tm.run(group, ctx)
        if ctx.force_sign_on or request.txn_type in _CHANGES_TERMINAL:
            self.s.forget_terminal(request.terminal_id)
        notes.valid = ctx.terminal is not None
        notes.authenticated = ctx.mac_verified
        return self._reply(ctx)

    # responses ---------------------------------------------------------------------
    def _error_reply(
        self, dialect: Dialect, envelope: Envelope, message: IsoMessage | None, code: str
    ) -> bytes | None:
        if message is None or not message.mti or len(message.mti) != 4 or 41 not in message.fields:
            return None  # not even a terminal to answer: close
        try:
            reply = dialect.error_response(message, code)
            return dialect.frame_reply(dialect.encode(reply), envelope)
        except Iso8583Error:
            return None

    def _reply(self, ctx: HostContext) -> bytes | None:
        r, t, result = ctx.request, ctx.terminal, ctx.result
        code = ctx.response_code or "96"
        now_local = business_clock(ctx.received_at, t.timezone if t else self.s.timezone).replace(tzinfo=None)
        rrn = result.rrn if result else None
        if rrn is None and t is not None and r.txn_type in _EXCHANGE_REFERENCED:
            rrn = exchange_reference(now_local, r.stan)
        settlement_date = result.settlement_date if result else None
        if settlement_date is None and ctx.settlement is not None:
            settlement_date = f"{now_local:%m%d}"  # the acquirer's business day the batch closed in
        balance = None
        if result is not None and result.balance is not None and result.currency and r.txn_type == T.BALANCE:
            balance = Amount.of(result.balance, result.currency)
        response = Response(
            txn_type=r.txn_type,
            response_code=code,
            terminal_id=r.terminal_id,
            merchant_id=r.merchant_id,
            stan=None,
            batch=ctx.assigned_batch,
            rrn=rrn,
            auth_code=result.auth_code if result else None,
            host_datetime=now_local,
            settlement_date=settlement_date,
            amount=r.amount if r.txn_type != T.BALANCE else None,
            balance=balance,
            working_keys=ctx.working_keys,
            key_scheme=r.key_scheme if r.txn_type == T.SIGN_ON else None,
            acquirer_id=t.acquirer_code if t else None,
            issuer_id=ctx.card.issuer_code if ctx.card else None,
            card_organisation=ctx.card.card_organisation if ctx.card else None,
            e_receipt_token=ctx.e_receipt_token,
            icc_data=self._response_icc(ctx, code),
            processing_requirement=3 if ctx.force_sign_on else ctx.processing_requirement,
            totals=ctx.settlement.host if ctx.settlement else None,
            reconciliation=ctx.settlement.domestic if ctx.settlement else None,
            foreign_reconciliation=ctx.settlement.foreign if ctx.settlement else None,
            currency=currency(t.currency) if t and r.txn_type == T.SETTLEMENT else None,
        )
        dialect = ctx.dialect
        mac = self._response_mac(ctx)
        try:
            message = dialect.encode_response(response, r, with_mac=None if mac else False)
            raw = dialect.seal(message, mac=mac)
            return dialect.frame_reply(
                raw, ctx.envelope, processing_requirement=response.processing_requirement
            )
        except (Iso8583Error, CryptoError) as exc:
            _log.error("response.encode_failed", error=str(exc), tid=r.terminal_id, stan=r.stan)
            try:
                fallback = dialect.error_response(ctx.message, "96")
                return dialect.frame_reply(dialect.encode(fallback), ctx.envelope)
            except Iso8583Error:
                return None

    def _response_icc(self, ctx: HostContext, code: str) -> bytes | None:
        """Field 55 of a chip response: ARPC (method 1) with the response code as ARC, then scripts."""
        if ctx.icc is None or ctx.pan is None or ctx.request.txn_type not in _CHIP_RESPONSES:
            return None
        arc = code.encode("ascii")
        try:
            arpc = self.s.hsm.generate_arpc(
                imk=self.s.keys["issuer_imk_ac"],
                pan=ctx.pan,
                psn=ctx.psn or "00",
                atc=ctx.icc["9F36"],
                arqc=ctx.icc["9F26"],
                arc=arc,
            )
        except CryptoError as exc:
            _log.error("arpc.failed", error=str(exc))
            return None
        return response_icc_data(
            issuer_authentication=issuer_authentication_data(arpc, arc), scripts=ctx.issuer_scripts
        )

    def _response_mac(self, ctx: HostContext) -> Callable[[bytes], bytes] | None:
        t = ctx.terminal
        if t is None or t.mak is None or ctx.response_code == "A0":
            return None
        mak, algorithm = t.mak, t.mac_algorithm
        if ctx.request.txn_type == T.SIGN_ON:
            return None

        def mac(data: bytes) -> bytes:
            return self.s.hsm.generate_mac(data, key=mak, algorithm=mac_algorithm(algorithm))

        return mac

    def stats(self) -> dict[str, Any]:
        return dataclasses.asdict(self.s.writer.stats)


def _address(peer: str) -> str:
    """The IP address of a ``host:port`` peer string."""
    return peer.rsplit(":", 1)[0]


def exchange_reference(local: datetime, stan: int) -> str:
    """Field 37 of an 0810 / 0510: YDDD hhmmss of the host's local time and the trace's last 2 digits.

    It references the exchange for the terminal's log and receipt; it names no transaction.
    """
    return f"{local:%y}"[-1] + f"{local:%j%H%M%S}" + f"{stan % 100:02d}"
