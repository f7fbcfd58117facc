"""The terminal engine: the POS application's flows over device ports.

The engine owns the rules that keep money safe at the counter:

* it checks itself (keys, network) before taking money and says plainly what is
  wrong and what to do;
* it persists a reversal record *before* it sends a reversible request, and sends
  pending reversals before the next transaction, with retries, until the host
  acknowledges them;
* it shows "payment successful" only for an approved response whose MAC verified,
  and prints the receipt before clearing the reversal record.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from poskit import signature_rule
from poskit.cards.bins import lookup_bin
from poskit.cards.pan import mask_pan
from poskit.cards.track2 import ServiceCode, Track2
from poskit.crypto.errors import CryptoError, KeyCheckValueError
from poskit.emv.field55 import Field55Error, parse_icc_data
from poskit.iso8583.dialects import Dialect, get_dialect
from poskit.iso8583.errors import Iso8583Error
from poskit.iso8583.model import CardData, EntryMode, Original, Request, Response, TxnType
from poskit.iso8583.response_codes import response_text
from poskit.logs import get_logger
from poskit.money import Amount
from poskit.terminal.devices.ports import (
    CardPresentation,
    Devices,
    EntryKind,
    LinkError,
    PrinterError,
)
from poskit.terminal.heartbeat import free_storage_mb, heartbeat_fields
from poskit.terminal.power import PowerStatus, power_status
from poskit.terminal.receipt import Receipt, e_receipt_url, slip_language
from poskit.terminal.secure_element import KeysMissingError, SecureElement
from poskit.terminal.store import BatchRecord, ReversalRecord, TerminalStore

__all__ = [
    "CHIP_TRIES",
    "FALLBACK_FAILED",
    "NETWORK_DOWN",
    "NO_OPERATOR",
    "Check",
    "SelfTestReport",
    "TerminalEngine",
    "TxnOutcome",
]

_log = get_logger("poskit.terminal")

NETWORK_DOWN = "network not connected: check the cable or SIM, then retry"
#: Chip read attempts before a chip card may be swiped (fallback).
CHIP_TRIES = 3
#: A payment started with nobody signed in (the terminal app says it before asking an amount).
NO_OPERATOR = "no operator signed in: sign in first (poskit login 01)"
FALLBACK_FAILED = (
    "the chip cannot be read and the card was not swiped: the transaction is ended; "
    "use another card or another way to pay"
)

_ENTRY_MODES = {
    "swipe": EntryMode.SWIPE,
    "chip": EntryMode.CHIP,
    "tap": EntryMode.CONTACTLESS_CHIP,
    "manual": EntryMode.MANUAL,
    "fallback": EntryMode.FALLBACK,
}


@dataclasses.dataclass
class Check:
    name: str
    ok: bool
    message: str
    advice: str = ""


@dataclasses.dataclass
class SelfTestReport:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks if c.name in ("keys", "network"))

    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


@dataclasses.dataclass
class TxnOutcome:
    """What happened, in the words the terminal shows, and what a script needs."""

    status: str  # approved | declined | failed
    message: str
    response_code: str | None = None
    txn_type: str = "sale"
    terminal: str = ""
    stan: int | None = None
    batch: int | None = None
    rrn: str | None = None
    auth_code: str | None = None
    amount: Amount | None = None
    masked_pan: str | None = None
    entry_mode: str | None = None
    receipt: Receipt | None = None
    reversal_pending: bool = False
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def approved(self) -> bool:
        return self.status == "approved"

    @property
    def exit_code(self) -> int:
        return {"approved": 0, "declined": 1}.get(self.status, 2)

    def to_json(self, receipt_text: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "approved": self.approved,
            "status": self.status,
            "response_code": self.response_code,
            "message": self.message,
            "terminal": self.terminal,
            "stan": f"{self.stan:06d}" if self.stan else None,
            # the slip's 凭证号 (the trace number) and local date: what void --voucher and
            # refund --date ask for
            "voucher": f"{self.stan:06d}" if self.stan and self.receipt is not None else None,
            "date": _mmdd(self.receipt.date_time) if self.receipt is not None else None,
            "batch": f"{self.batch:06d}" if self.batch else None,
            "rrn": self.rrn,
            "auth_code": self.auth_code,
            "amount": self.amount.plain() if self.amount else None,
            "currency": self.amount.currency.code if self.amount else None,
            "masked_pan": self.masked_pan,
            "entry_mode": self.entry_mode,
            "reversal_pending": self.reversal_pending,
            "receipt": receipt_text,
        }
        data.update(self.extra)
        return data


def _mmdd(date_time: str) -> str:
    """``2026-12-08 09:25:33`` (the slip's local time) -> ``1208``."""
    return date_time[5:7] + date_time[8:10]


class _Exchange:
    """The outcome of one request/response round trip."""

    def __init__(self, response: Response | None, error: str | None, sent: bool, mac_ok: bool = True) -> None:
        self.response = response
        self.error = error
        self.sent = sent
        self.mac_ok = mac_ok


class TerminalEngine:
    """One POS terminal's application logic."""

    def __init__(
        self,
        store: TerminalStore,
        element: SecureElement,
        devices: Devices,
        *,
        dialect: Dialect | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.store = store
        self.element = element
        self.devices = devices
        self.profile = store.profile()
        self.dialect = dialect or get_dialect(self.profile.dialect)
        self._sleep = sleep
        self._random = random
        self.timezone = ZoneInfo(str(self.profile.params.get("timezone", "Asia/Shanghai")))
        self.current_reversal_id: int | None = None
        self.last_emv: dict[str, Any] | None = None
        self.response_timeout = float(self.profile.params.get("response_timeout", 30))
        self.started_at = devices.clock.now()  # the heartbeat's uptime counts from here

    # -------------------------------------------------------------- helpers
    def _local_now(self) -> datetime:
        return self.devices.clock.now().astimezone(self.timezone)

    def _refresh(self) -> None:
        self.profile = self.store.profile()

    async def _say(self, text: str, level: str = "info") -> None:
        await self.devices.display.show(text, level=level)  # type: ignore[arg-type]

    def _fail(self, message: str, **kw: Any) -> TxnOutcome:
        kw.setdefault("terminal", self.profile.terminal_id)
        return TxnOutcome("failed", message, **kw)

    async def _exchange(self, request: Request, *, mac: bool | None = None) -> _Exchange:
        """Send one request and decode the answer; MAC both ways when ``mac`` (default: as the
        dialect's transaction table says for that message)."""
        if mac is None:
            mac = self.dialect.definition(request.txn_type).mac
        try:
            message = self.dialect.encode_request(request, with_mac=mac)
            raw = self.dialect.seal(message, mac=self.element.generate_mac if mac else None)
            frame = self.dialect.frame(raw)
        except (Iso8583Error, KeysMissingError, CryptoError) as exc:
            return _Exchange(None, f"could not build the request: {exc}", sent=False)
        try:
            payload = await self.devices.link.exchange(frame, timeout=self.response_timeout)
        except LinkError as exc:
            return _Exchange(None, str(exc), sent=exc.sent)
        try:
            envelope = self.dialect.unframe(payload)
            reply = self.dialect.decode(envelope.message)
            response = self.dialect.decode_response(
                reply, envelope=envelope, now=self._local_now().replace(tzinfo=None)
            )
        except Iso8583Error as exc:
            return _Exchange(None, f"unusable response: {exc}", sent=True)
        if response.terminal_id != request.terminal_id:
            return _Exchange(None, "response for another terminal", sent=True)
        mac_ok = True
        received_mac = self.dialect.extract_mac(envelope.message)
        if received_mac is not None:
            mac_ok = self.element.verify_mac(self.dialect.mac_input(envelope.message), received_mac)
        elif mac and response.approved:
            mac_ok = False  # an approval must be authenticated
        return _Exchange(response, None, sent=True, mac_ok=mac_ok)

    # -------------------------------------------------------------- self-test
    async def self_test(self, *, probe_network: bool = True) -> SelfTestReport:
        """Power-on self-test: keys, host reachability, printer, reader, battery."""
        checks: list[Check] = []
        if not self.element.has_master_key():
            checks.append(
                Check(
                    "keys",
                    False,
                    "no terminal master key in the PIN pad",
                    "ask the acquirer to inject keys (poskit keys inject), then sign on",
                )
            )
        else:
            checks.append(
                Check(
                    "keys",
                    True,
                    "master key present" + ("" if self.element.has_working_keys() else "; sign-on needed"),
                )
            )
        if probe_network:
            reachable = await self.devices.link.probe(timeout=3.0)
            checks.append(
                Check(
                    "network",
                    reachable,
                    f"host {self.devices.link.address} reachable" if reachable else NETWORK_DOWN,
                    "" if reachable else "check the cable or SIM card and the host address",
                )
            )
        power = self.power()
        if power.percent is not None:
            checks.append(
                Check(
                    "battery",
                    not power.low,
                    f"battery {power.percent}%" + (" (charging)" if power.charging else ""),
                    "connect the charger" if power.low else "",
                )
            )
        checks.append(
            Check(
                "reader",
                self.devices.card_reader.chip_reader_working,
                "card reader ready"
                if self.devices.card_reader.chip_reader_working
                else "chip reader not responding",
                ""
                if self.devices.card_reader.chip_reader_working
                else "clean the chip slot; cards will fall back to swipe",
            )
        )
        report = SelfTestReport(checks)
        self.store.log_event("self_test", ok=report.ok, failures=[c.name for c in report.failures()])
        return report

    # -------------------------------------------------------------- sign-on
    async def sign_on(self) -> TxnOutcome:
        """0800/0810: load fresh working keys (check values verified) and the batch number."""
        if not self.element.has_master_key():
            return self._fail("no terminal master key: ask the acquirer to inject keys, then sign on")
        if self.profile.key_scheme == "dukpt" and (problem := self.element.dukpt_problem()):
            return self._fail(problem)  # a sign-on cannot replace a DUKPT key: say what to do
        stan = self.store.next_stan()
        scheme = "004" if self.profile.track_encryption else "003"
        request = Request(
            TxnType.SIGN_ON,
            self.profile.terminal_id,
            self.profile.merchant_no,
            stan,
            self.store.batch_no(),
            operator=self.profile.operator or "01",
            key_scheme=scheme,
            local_datetime=self._local_now().replace(tzinfo=None),
        )
        await self._say("Signing on...")
        ex = await self._exchange(request, mac=False)
        if ex.response is None:
            msg = NETWORK_DOWN if not ex.sent else f"sign-on failed: {ex.error}"
            return self._fail(msg, stan=stan)
        r = ex.response
        if not r.approved or r.working_keys is None:
            return TxnOutcome(
                "declined",
                f"sign-on refused: {response_text(r.response_code)}",
                response_code=r.response_code,
                terminal=self.profile.terminal_id,
                stan=stan,
            )
        wk = r.working_keys
        try:
            from poskit.terminal.secure_element import WorkingKeyMaterial

            kcvs = self.element.install_working_keys(
                WorkingKeyMaterial(
                    pik=wk.pik,
                    pik_kcv=wk.pik_kcv,
                    mak=wk.mak,
                    mak_kcv=wk.mak_kcv,
                    tdk=wk.tdk,
                    tdk_kcv=wk.tdk_kcv,
                )
            )
        except KeyCheckValueError:
            self.store.log_event("sign_on_kcv_mismatch")
            return self._fail("sign-on keys failed their check values: keys not loaded; retry the sign-on")
        values: dict[str, Any] = {"sign_on_required": False, "signed_on_at": self.devices.clock.now()}
        self.store.update_profile(**values)
        if r.batch:
            self.store.set_batch_no(r.batch)
        self._refresh()
        self.store.log_event("signed_on", kcv=kcvs)
        await self.report_status()  # the TMS learns battery, network, version and position at every sign-on
        await self._say("Signed on", "success")
        return TxnOutcome(
            "approved",
            "signed on",
            response_code=r.response_code,
            terminal=self.profile.terminal_id,
            stan=stan,
            batch=self.store.batch_no(),
            extra={"kcv": kcvs},
        )

    async def report_status(self) -> bool:
        """Status upload (0820, 终端状态上送), the heartbeat: power, paper, network, versions,
        uptime, free storage and position for the TMS."""
        p = self.profile
        parts = heartbeat_fields(
            power=self.power(),
            printer=self.devices.printer,
            params=p.params,
            software_version=p.software_version,
            started_at=self.started_at,
            now=self.devices.clock.now(),
            storage_free_mb=free_storage_mb(self.store.path.parent),
        )
        request = Request(
            TxnType.STATUS_UPLOAD,
            p.terminal_id,
            p.merchant_no,
            self.store.next_stan(),
            self.store.batch_no(),
            terminal_info=";".join(parts).encode("ascii"),
            local_datetime=self._local_now().replace(tzinfo=None),
        )
        ex = await self._exchange(request)
        return ex.response is not None and ex.response.approved

    def power(self) -> PowerStatus:
        """Mains or battery now, with this terminal's low and critical levels."""
        return power_status(self.devices.power, self.profile.params)

    async def ensure_ready(self) -> TxnOutcome | None:
        """Battery enough, keys present, signed on, previous reversals cleared; else the reason to stop."""
        power = self.power()
        refusal = power.refusal()
        if refusal is not None:
            self.store.log_event("battery_critical", percent=power.percent)
            await self._say(refusal, "error")
            return self._fail(refusal)
        warning = power.warning()
        if warning is not None:
            await self._say(warning, "info")
        if not self.element.has_master_key():
            return self._fail(
                "this terminal has no master key: ask the acquirer to inject keys "
                "(poskit keys inject) before taking payments"
            )
        if not await self.devices.link.probe(timeout=5.0):
            await self._say(NETWORK_DOWN, "error")
            return self._fail(NETWORK_DOWN, reversal_pending=bool(self.store.pending_reversals()))
        if self.profile.sign_on_required or not self.element.has_working_keys():
            outcome = await self.sign_on()
            if not outcome.approved:
                return outcome
        if not await self.send_pending_reversals():
            return self._fail(
                "a previous payment is waiting to be reversed and the host cannot be "
                f"reached ({NETWORK_DOWN}); no new payment until it is reversed",
                reversal_pending=True,
            )
        if self.store.pending_uploads():
            # advices, script results and signatures left by a power cut or a dropped line go first;
            # they are retried later if the host still cannot take them (they never block a payment)
            await self.send_pending_uploads()
        return None

    # -------------------------------------------------------------- reversals
    async def send_pending_reversals(self) -> bool:
        """Send every pending reversal (retrying with backoff); True when none is left."""
        retries = int(self.profile.params.get("reversal_retries", 3))
        for record in self.store.pending_reversals():
            done = False
            for attempt in range(retries):
                if self.profile.sign_on_required:
                    signed = await self.sign_on()
                    if not signed.approved:
                        break
                ex = await self._exchange(
                    self._reversal_request(record, repeat=record.attempts + attempt > 0), mac=True
                )
                if ex.response is not None and ex.mac_ok and ex.response.response_code in ("00", "25", "12"):
                    self.store.delete_reversal(record.id)
                    self.store.log_event(
                        "reversal_acknowledged",
                        stan=record.stan,
                        batch=record.batch_no,
                        reason=record.reason,
                        code=ex.response.response_code,
                    )
                    done = True
                    break
                error = ex.error or (
                    f"host answered {ex.response.response_code}" if ex.response else "no answer"
                )
                if ex.response is not None and (ex.response.response_code == "A0" or not ex.mac_ok):
                    self.store.update_profile(sign_on_required=True)
                    self._refresh()
                self.store.record_reversal_attempt(record.id, error)
                if not ex.sent and attempt == retries - 1:
                    break
                await self._sleep(0.5 * (2**attempt))
            if not done:
                return False
        return True

    def _reversal_request(self, record: ReversalRecord, *, repeat: bool) -> Request:
        data = record.request
        pan = self.element.reveal_pan(record.pan_token) if record.pan_token else None
        card = CardData(
            entry_mode=EntryMode(data.get("entry_mode", "swipe")),
            pan=pan,
            card_sequence=data.get("card_sequence"),
            icc_data=record.icc_data,
        )
        return Request(
            TxnType.REVERSAL,
            self.profile.terminal_id,
            self.profile.merchant_no,
            record.stan,
            record.batch_no,
            amount=Amount.of(record.amount, record.currency),
            card=card,
            operator=data.get("operator"),
            reversal_reason=record.reason,
            repeat=repeat,
            original=Original(
                batch=record.batch_no,
                stan=record.stan,
                txn_type=TxnType(record.txn_type),
                reference=_original_from_json(data.get("original")),
            ),
            local_datetime=self._local_now().replace(tzinfo=None),
            reading_capability="6",
            chip_condition=data.get("chip_condition", "0"),
        )

    # -------------------------------------------------------------- sale
    async def sale(self, amount: Amount) -> TxnOutcome:
        """A purchase: amount confirmed, card read, PIN if needed, authorised online, receipt."""
        return await self.purchase(TxnType.SALE, amount)

    async def preauth(self, amount: Amount) -> TxnOutcome:
        """A pre-authorisation (hotel, car hire): the funds are held, charged later by a completion."""
        return await self.purchase(TxnType.PREAUTH, amount)

    async def balance(self) -> TxnOutcome:
        """Balance inquiry: card and PIN, the available balance shown (nothing printed or kept)."""
        return await self.purchase(TxnType.BALANCE, Amount(0, self._currency()))

    def _currency(self) -> Any:
        from poskit.money import currency

        return currency(self.profile.currency)

    async def purchase(self, txn_type: TxnType, amount: Amount) -> TxnOutcome:
        """The card-present flow shared by sale, pre-authorisation and balance inquiry."""
        balance_inquiry = txn_type == TxnType.BALANCE
        if amount.minor <= 0 and not balance_inquiry:
            return self._fail("amount must be greater than zero")
        if amount.currency.code != self.profile.currency:
            return self._fail(f"this terminal takes {self.profile.currency}, not {amount.currency.code}")
        if self.profile.operator is None:
            return self._fail(NO_OPERATOR)
        blocked = await self.ensure_ready()
        if blocked is not None:
            return blocked
        if not balance_inquiry and not await self.devices.keypad.confirm(
            f"Amount {amount.currency.code} {amount.grouped()} — confirm?"
        ):
            return self._fail("cancelled by the operator", amount=amount)
        for chip_failures in range(CHIP_TRIES):
            presentation = await self._read_card(amount)
            if isinstance(presentation, TxnOutcome):
                return presentation
            if presentation.kind not in ("chip", "tap"):
                return await self._magstripe_sale(amount, presentation, txn_type=txn_type)
            outcome = await self._emv_sale(amount, presentation, txn_type=txn_type)
            if not outcome.extra.get("chip_read_failed") or presentation.kind == "tap":
                return outcome
            self.store.log_event("chip_read_failed", attempt=chip_failures + 1)
            if chip_failures + 1 < CHIP_TRIES:
                await self._say(
                    f"Chip read failed ({chip_failures + 1}/{CHIP_TRIES}): insert the card again", "prompt"
                )
        return await self._fallback_swipe(amount, txn_type)

    async def _fallback_swipe(self, amount: Amount, txn_type: TxnType) -> TxnOutcome:
        """After CHIP_TRIES failed chip reads: one swipe of the chip card (fallback), or the end.

        The bound matters: a reader that keeps offering the chip (or nothing) must not keep
        the terminal asking for ever.
        """
        await self._say("The chip cannot be read: swipe the card instead (fallback)", "prompt")
        switch = getattr(self.devices.card_reader, "switch", None)
        if getattr(self.devices.card_reader, "follow_advice", False) and switch is not None:
            switch("swipe")
        presentation = await self._read_card(amount, fallback_allowed=True)
        if isinstance(presentation, TxnOutcome):
            return presentation
        if presentation.kind != "swipe":
            await self.devices.card_reader.remove_card()
            return self._fail(FALLBACK_FAILED, amount=amount)
        return await self._magstripe_sale(amount, presentation, txn_type=txn_type)

    async def _read_card(
        self, amount: Amount, *, fallback_allowed: bool = False
    ) -> CardPresentation | TxnOutcome:
        reader = self.devices.card_reader
        allowed: tuple[EntryKind, ...] = ("swipe", "chip", "tap", "manual")
        prompt = f"{amount.currency.code} {amount.grouped()}: swipe, insert or tap the card"
        for _ in range(3):
            presentation = await reader.read_card(prompt, allowed=allowed)
            if presentation is None:
                return self._fail("no card presented (or the card cannot be read that way)", amount=amount)
            if presentation.kind == "swipe" and presentation.track2 is not None:
                service = presentation.track2.service
                if (
                    service.chip_card
                    and (fallback_allowed or not reader.chip_reader_working)
                    and not presentation.fallback
                ):
                    # the chip cannot be read: a swipe of a chip card is a fallback (22=80x, 60.5=2)
                    return dataclasses.replace(presentation, fallback=True)
                if service.chip_card and reader.chip_reader_working and not presentation.fallback:
                    await self._say("Chip card: please insert the card, do not swipe", "prompt")
                    prompt = "Chip card: please insert the card"
                    if hasattr(reader, "entry") and getattr(reader, "follow_advice", False):
                        reader.switch("chip")  # type: ignore[attr-defined]
                        continue
                    return self._fail(
                        "chip card: please insert the card instead of swiping",
                        amount=amount,
                        response_code="45",
                    )
            return presentation
        return self._fail("card could not be read", amount=amount)

    async def _collect_pin(self, pan: str, amount: Amount, *, required: bool) -> bytes | TxnOutcome | None:
        pin = await self.devices.pin_entry.enter_pin(
            f"{amount.currency.code} {amount.grouped()}  Enter PIN" + ("" if required else " (or bypass)"),
            min_length=4,
            max_length=12,
        )
        if pin is None:
            if required:
                return self._fail("this card needs a PIN: the cardholder must enter it", amount=amount)
            return None
        if not pin.isdigit() or not 4 <= len(pin) <= 12:
            return self._fail("a PIN is 4 to 12 digits", amount=amount)
        try:
            return self.element.encrypt_pin(pin, pan)
        finally:
            del pin

    async def _magstripe_sale(
        self, amount: Amount, presentation: CardPresentation, *, txn_type: TxnType = TxnType.SALE
    ) -> TxnOutcome:
        track = presentation.track2
        assert track is not None
        service = track.service
        entry = "fallback" if presentation.fallback else "swipe"
        required = service.pin_required or service.pin_if_pin_pad or txn_type == TxnType.BALANCE
        pin_block = await self._collect_pin(track.pan, amount, required=required)
        if isinstance(pin_block, TxnOutcome):
            return pin_block
        return await self._authorise(
            amount,
            track=track,
            pan=track.pan,
            entry=entry,
            pin_block=pin_block,
            txn_type=txn_type,
            balance_inquiry=txn_type == TxnType.BALANCE,
        )

    async def _emv_sale(
        self, amount: Amount, presentation: CardPresentation, *, txn_type: TxnType = TxnType.SALE
    ) -> TxnOutcome:
        from poskit.terminal.emv_flow import run_emv_sale

        try:
            outcome = await run_emv_sale(self, amount, presentation, txn_type=txn_type)
        finally:
            await self.devices.card_reader.remove_card()
        if self.store.pending_uploads():
            await self.send_pending_uploads()
        return outcome

    # -------------------------------------------------------------- advices and uploads
    def queue_script_advice(self, response: Response, first: Any, icc_data: bytes) -> None:
        """Persist a script advice (0620) reporting the issuer scripts' results (DF31)."""
        token = self.element.protect_pan(first.pan)[0] if first.pan else None
        self.store.queue_upload(
            "script_advice",
            batch_no=self.store.batch_no(),
            stan=response.stan or 0,
            payload={
                "pan_token": token,
                "psn": (first.psn or "00").zfill(3),
                "rrn": response.rrn,
                "auth_code": response.auth_code,
                "amount": response.amount.minor if response.amount else 0,
                "currency": self.profile.currency,
                "icc_data": icc_data.hex(),
                "original_stan": response.stan,
                "original_batch": self.store.batch_no(),
                "original_date": self._local_now().strftime("%m%d"),
            },
        )

    async def send_pending_uploads(self) -> bool:
        """Send queued advices and uploads (script advices, signatures); True when none is left."""
        all_sent = True
        for upload in self.store.pending_uploads():
            if upload["kind"] == "advice":
                all_sent = await self._resend_advice(upload) and all_sent
                continue
            if upload["kind"] == "signature":
                from poskit.terminal.signatures import send_signature

                all_sent = await send_signature(self, upload) and all_sent
                continue
            if upload["kind"] != "script_advice":
                continue
            data = upload["payload"]
            pan = self.element.reveal_pan(data["pan_token"]) if data.get("pan_token") else None
            request = Request(
                TxnType.SCRIPT_ADVICE,
                self.profile.terminal_id,
                self.profile.merchant_no,
                self.store.next_stan(),
                self.store.batch_no(),
                amount=Amount.of(int(data["amount"]), data["currency"]),
                card=CardData(
                    entry_mode=EntryMode.CHIP,
                    pan=pan,
                    card_sequence=data["psn"],
                    icc_data=bytes.fromhex(data["icc_data"]),
                ),
                original=Original(
                    batch=data["original_batch"],
                    stan=data["original_stan"],
                    date=data["original_date"],
                    rrn=data["rrn"],
                    auth_code=data["auth_code"],
                    txn_type=TxnType.SALE,
                ),
                operator=self.profile.operator,
                local_datetime=self._local_now().replace(tzinfo=None),
                reading_capability="6",
                chip_condition="0",
            )
            ex = await self._exchange(request, mac=True)
            if ex.response is not None and ex.mac_ok and ex.response.response_code in ("00", "94"):
                self.store.finish_upload(upload["id"], "done")
            else:
                all_sent = False
                self.store.finish_upload(upload["id"], "pending", ex.error or "not acknowledged")
        return all_sent

    async def _resend_advice(self, upload: dict[str, Any]) -> bool:
        """Re-send an unanswered refund or offline completion with its original trace number."""
        data = upload["payload"]
        pan = self.element.reveal_pan(data["pan_token"])
        amount = Amount.of(int(data["amount"]), data["currency"])
        request = Request(
            TxnType(data["txn_type"]),
            self.profile.terminal_id,
            self.profile.merchant_no,
            int(data["stan"]),
            int(data["batch"]),
            amount=amount,
            card=CardData(entry_mode=EntryMode.MANUAL, pan=pan),
            operator=data.get("operator"),
            original=_original_from_json(data.get("original")),
            repeat=True,
            local_datetime=datetime.fromisoformat(data["local_datetime"])
            if data.get("local_datetime")
            else None,
            reading_capability="6",
            chip_condition="0",
        )
        ex = await self._exchange(request)
        if ex.response is None or not ex.mac_ok:
            self.store.finish_upload(upload["id"], "pending", ex.error or "answer failed its MAC check")
            return False
        response = ex.response
        if response.approved:
            info = lookup_bin(pan)
            self.store.complete_transaction(
                {
                    "batch_no": int(data["batch"]),
                    "stan": int(data["stan"]),
                    "txn_type": data["txn_type"],
                    "amount": amount.minor,
                    "currency": amount.currency.code,
                    "pan_token": data["pan_token"],
                    "pan_masked": mask_pan(pan),
                    "card_organisation": info.card_organisation,
                    "foreign_card": info.origin(self.profile.country) == "foreign",
                    "entry_mode": data["entry"],
                    "response_code": response.response_code,
                    "auth_code": response.auth_code,
                    "rrn": response.rrn,
                    "settlement_date": response.settlement_date,
                    "local_datetime": self.devices.clock.now(),
                    "operator": data.get("operator") or "01",
                    "status": "approved",
                    "signature_required": bool(data.get("signature_required")),
                    "receipt": {},
                    **(data.get("record_extra") or {}),
                },
                clear_reversal=None,
            )
        self.store.finish_upload(
            upload["id"],
            "done" if response.approved else "declined",
            "" if response.approved else f"host answered {response.response_code}",
        )
        self.store.log_event("advice_resent", stan=data["stan"], code=response.response_code)
        return True

    def _card_data(
        self,
        *,
        track: Track2 | None,
        pan: str,
        entry: str,
        pin_block: bytes | None,
        icc_data: bytes | None = None,
        card_sequence: str | None = None,
        expiry: str | None = None,
    ) -> CardData:
        field35 = None
        encrypted = False
        if track is not None:
            field35 = track.to_field35()
            if self.profile.track_encryption:
                enc = self.element.encrypt_track2(field35)
                if enc is not None:
                    field35, encrypted = enc, True
        return CardData(
            entry_mode=_ENTRY_MODES[entry],
            pan=None if track is not None and entry != "chip" else pan,
            track2=field35,
            track2_encrypted=encrypted,
            expiry=expiry or (track.expiry if track else None),
            card_sequence=card_sequence,
            pin_block=pin_block,
            pin_max_length=(12 if entry in ("chip", "tap") else 6) if pin_block else None,
            icc_data=icc_data,
            service_code=track.service_code if track else None,
        )

    async def _authorise(
        self,
        amount: Amount,
        *,
        track: Track2 | None,
        pan: str,
        entry: str,
        pin_block: bytes | None,
        icc_data: bytes | None = None,
        card_sequence: str | None = None,
        expiry: str | None = None,
        on_response: Callable[[Response], Awaitable[TxnOutcome | None]] | None = None,
        receipt_extra: dict[str, Any] | None = None,
        txn_type: TxnType = TxnType.SALE,
        original: Original | None = None,
        record_extra: dict[str, Any] | None = None,
        after_approved: Callable[[BatchRecord], None] | None = None,
        balance_inquiry: bool = False,
    ) -> TxnOutcome:
        """Persist the reversal record, send the request, handle every way it can go wrong.

        Used by every online financial transaction (sale, pre-authorisation, balance, void,
        refund, cancel, completion, completion void); ``after_approved`` updates related
        batch records (e.g. the voided sale) in the same step that records the approval.
        """
        definition = self.dialect.definition(txn_type)
        reversible = definition.reversible
        label = _RECEIPT_TYPES.get(txn_type, txn_type.value.upper())
        batch = self.store.batch_no()
        now = self._local_now()
        card = self._card_data(
            track=track,
            pan=pan,
            entry=entry,
            pin_block=pin_block,
            icc_data=icc_data,
            card_sequence=card_sequence,
            expiry=expiry,
        )
        # the one rule on the request as sent: the host stores the same answer with the transaction
        signature_required, waiver = _signature_decision(txn_type, card)
        chip_condition = "2" if entry == "fallback" else "0"
        token, masked = self.element.protect_pan(pan)
        reversal_id: int | None = None
        if reversible:
            # the trace number and the reversal record are written together, before anything is sent
            stan, reversal_id = self.store.reserve_with_reversal(
                batch_no=batch,
                txn_type=txn_type.value,
                pan_token=token,
                pan_masked=masked,
                amount=amount.minor,
                currency=amount.currency.code,
                request={
                    "entry_mode": card.entry_mode.value,
                    "card_sequence": card_sequence,
                    "operator": self.profile.operator,
                    "chip_condition": chip_condition,
                    "original": _original_json(original),
                },
                icc_data=None,
            )
        else:
            stan = self.store.next_stan()
        request = Request(
            txn_type,
            self.profile.terminal_id,
            self.profile.merchant_no,
            stan,
            batch,
            amount=None if balance_inquiry else amount,
            currency=amount.currency,
            original=original,
            card=card,
            operator=self.profile.operator,
            local_datetime=now.replace(tzinfo=None),
            reading_capability="6",
            chip_condition=chip_condition,
            partial_approval=False,
            ksn=self.element.take_ksn() if pin_block is not None else None,  # DUKPT: field 62
        )
        self.current_reversal_id = reversal_id
        base: dict[str, Any] = {
            "terminal": self.profile.terminal_id,
            "stan": stan,
            "batch": batch,
            "amount": amount,
            "masked_pan": masked,
            "entry_mode": entry,
        }
        await self._say("Processing... do not remove the card")
        ex = await self._exchange(request, mac=True)
        if ex.response is None:
            if not ex.sent:
                if reversal_id is not None:
                    self.store.delete_reversal(reversal_id)
                await self._say(NETWORK_DOWN, "error")
                return self._fail(NETWORK_DOWN, **base)
            if reversal_id is None:
                # an advice (refund, offline completion) is not reversed but re-sent until the host
                # confirms it; a repeat carries the same trace number, so the host applies it once
                self.store.queue_upload(
                    "advice",
                    batch_no=batch,
                    stan=stan,
                    payload=_advice_payload(
                        request, token, amount, entry, label, signature_required, record_extra
                    ),
                )
                await self._say("No answer from the host: the request will be sent again", "error")
                return self._fail(
                    f"no answer from the host ({ex.error}): the {label.lower()} is stored and will be "
                    "sent again automatically; do not repeat it",
                    **base,
                )
            if ex.error and ex.error.startswith("unusable response"):
                self.store.set_reversal_reason(reversal_id, "06")
            await self._say(
                "No answer from the host: the payment was NOT completed. It will be reversed automatically.",
                "error",
            )
            return self._fail(
                f"no answer from the host ({ex.error}): the payment was not completed and "
                "will be reversed automatically before the next transaction",
                reversal_pending=True,
                **base,
            )
        response = ex.response
        if not ex.mac_ok and reversal_id is not None:
            self.store.set_reversal_reason(reversal_id, "A0")
            self.store.update_profile(sign_on_required=True)
            self._refresh()
            await self._say(
                "Security check of the host's answer failed: the payment will be reversed", "error"
            )
            return self._fail(
                "the host's answer failed its MAC check: the payment was not completed, it "
                "will be reversed, and the terminal will sign on again",
                response_code=response.response_code,
                reversal_pending=True,
                **base,
            )
        if not ex.mac_ok:  # an advice whose answer failed its MAC: send it again later
            self.store.queue_upload(
                "advice",
                batch_no=batch,
                stan=stan,
                payload=_advice_payload(
                    request, token, amount, entry, label, signature_required, record_extra
                ),
            )
            self.store.update_profile(sign_on_required=True)
            self._refresh()
            return self._fail(
                "the host's answer failed its MAC check: the request will be sent again",
                response_code=response.response_code,
                **base,
            )
        if not response.approved:
            if reversal_id is not None:
                self.store.delete_reversal(reversal_id)
            text = response_text(response.response_code)
            if response.response_code in ("A0", "99") or response.processing_requirement == 3:
                # The host no longer trusts our working keys: sign on now so the retry works.
                self.store.update_profile(sign_on_required=True)
                self._refresh()
                signed = await self.sign_on()
                text += (
                    "; the terminal signed on again with new keys: please retry the payment"
                    if signed.approved
                    else f"; sign-on failed ({signed.message})"
                )
            await self._say(f"Declined: {text}", "error")
            return TxnOutcome(
                "declined",
                f"declined: {text}",
                response_code=response.response_code,
                rrn=response.rrn,
                **base,
            )
        if on_response is not None:
            verdict = await on_response(response)
            if verdict is not None:  # e.g. the chip declined after the host approved
                if reversal_id is not None and self.store.pending_reversals():
                    self.store.set_reversal_reason(reversal_id, "06")  # a response came but is unusable
                return verdict
        info = lookup_bin(pan)
        receipt = Receipt(
            merchant_name=self.profile.merchant_name,
            merchant_name_en=self.profile.merchant_name_en,
            merchant_no=self.profile.merchant_no,
            terminal_id=self.profile.terminal_id,
            operator=self.profile.operator or "",
            acquirer=self.profile.acquirer_name,
            issuer=info.issuer,
            card_masked=masked,
            entry_mode=entry,
            txn_type=label,
            batch_no=batch,
            voucher_no=stan,
            rrn=response.rrn or "",
            auth_code=response.auth_code or "",
            date_time=now.strftime("%Y-%m-%d %H:%M:%S"),
            amount=amount.grouped(),
            currency=amount.currency.code,
            card_organisation=response.card_organisation or info.card_organisation,
            signature_required=signature_required,
            signature_waiver=waiver,
            support_phone=self.profile.support_phone,
            language=slip_language(self.profile.language, self.profile.country),
            e_receipt_url=e_receipt_url(self.profile.portal_url, response.e_receipt_token),
            original_voucher=original.stan if original and original.stan else None,
            original_rrn=original.rrn if original and original.rrn else None,
            original_date=original.date if original and original.date else None,
            remarks=(f"余额 BALANCE: {response.balance.currency.code} {response.balance.grouped()}",)
            if balance_inquiry and response.balance is not None
            else (),
            **(receipt_extra or {}),
        )
        if balance_inquiry:
            # a balance slip: the balance where a sale has its amount, nothing to sign or open online
            shown_balance = response.balance or amount
            receipt = dataclasses.replace(
                receipt,
                amount=shown_balance.grouped(),
                currency=shown_balance.currency.code,
                remarks=(),
                signature_required=False,
                signature_waiver="balance inquiry",
                e_receipt_url="",
            )
            # nothing to keep or reverse: show the balance
            if reversal_id is not None:
                self.store.delete_reversal(reversal_id)
            shown = response.balance.grouped() if response.balance else "?"
            await self._say(f"Balance: {amount.currency.code} {shown}", "success")
            return TxnOutcome(
                "approved",
                f"balance {amount.currency.code} {shown}",
                response_code="00",
                rrn=response.rrn,
                receipt=receipt,
                extra={"balance": response.balance.plain() if response.balance else None},
                **{**base, "amount": response.balance or amount},
            )
        signature_png: bytes | None = None
        if signature_required and self.devices.signature_pad is not None and response.rrn:
            from poskit.terminal.signature.feature_code import feature_code

            code = feature_code(response.settlement_date or "0000", response.rrn)
            signature_png = await self.devices.signature_pad.capture_signature(
                f"Cardholder: sign for {amount.currency.code} {amount.grouped()}", feature_code=code
            )
            if signature_png is not None:
                receipt = receipt.with_signature(signature_png, feature_code=code)
        try:
            await self.devices.printer.print_receipt(receipt, copy="merchant")
        except PrinterError as exc:
            # CUPS rule: an approval whose slip cannot be printed is reversed (reason 06).
            if reversal_id is not None:
                self.store.set_reversal_reason(reversal_id, "06")
            await self._say(f"Printer: {exc}. The payment will be reversed.", "error")
            return self._fail(
                f"printer failure ({exc}): the approved payment will be reversed; fix the "
                "printer and take the payment again",
                response_code="00",
                rrn=response.rrn,
                reversal_pending=True,
                **base,
            )
        record = self.store.complete_transaction(
            {
                "batch_no": batch,
                "stan": stan,
                "txn_type": txn_type.value,
                "amount": amount.minor,
                "currency": amount.currency.code,
                "pan_token": token,
                "pan_masked": masked,
                "card_organisation": receipt.card_organisation,
                "foreign_card": info.origin(self.profile.country) == "foreign",
                "entry_mode": entry,
                "response_code": response.response_code,
                "auth_code": response.auth_code,
                "rrn": response.rrn,
                "settlement_date": response.settlement_date,
                "local_datetime": now,
                "operator": self.profile.operator or "01",
                "status": "approved",
                "signature_required": signature_required,
                "receipt": receipt.to_json(),
                **(record_extra or {}),
            },
            clear_reversal=reversal_id,
        )
        if after_approved is not None:
            after_approved(record)
        if signature_png is not None:
            from poskit.terminal.signatures import attach_signature

            await attach_signature(self, record, signature_png)
        with_cardholder = True
        try:
            await self.devices.printer.print_receipt(receipt, copy="cardholder")
        except PrinterError:
            with_cardholder = False  # the merchant copy printed; the cardholder copy can be reprinted
        done = _DONE_TEXT.get(txn_type, "payment successful")
        await self._say(done[0].upper() + done[1:], "success")
        return TxnOutcome(
            "approved",
            done + ("" if with_cardholder else " (cardholder copy not printed: reprint it)"),
            txn_type=txn_type.value,
            response_code="00",
            rrn=response.rrn,
            auth_code=response.auth_code,
            receipt=receipt,
            extra={"record_id": record.id},
            **base,
        )

    # -------------------------------------------------------------- the rest of the day
    async def void(self, voucher: int, supervisor_password: str | None = None) -> TxnOutcome:
        from poskit.terminal import adjustments

        return await adjustments.void(self, voucher, supervisor_password)

    async def refund(
        self, amount: Amount, rrn: str, date_mmdd: str, supervisor_password: str | None = None
    ) -> TxnOutcome:
        from poskit.terminal import adjustments

        return await adjustments.refund(self, amount, rrn, date_mmdd, supervisor_password)

    async def preauth_void(
        self, amount: Amount, auth_code: str, date_mmdd: str, supervisor_password: str | None = None
    ) -> TxnOutcome:
        from poskit.terminal import adjustments

        return await adjustments.preauth_cancel(self, amount, auth_code, date_mmdd, supervisor_password)

    async def completion(self, amount: Amount, auth_code: str, date_mmdd: str) -> TxnOutcome:
        from poskit.terminal import adjustments

        return await adjustments.completion(self, amount, auth_code, date_mmdd)

    async def completion_void(self, voucher: int, supervisor_password: str | None = None) -> TxnOutcome:
        from poskit.terminal import adjustments

        return await adjustments.completion_void(self, voucher, supervisor_password)

    async def settle(self) -> TxnOutcome:
        from poskit.terminal import settlement

        return await settlement.settle(self)

    async def sign_off(self) -> TxnOutcome:
        """0820 sign-off: the host retires our working keys; the next transaction signs on."""
        p = self.profile
        request = Request(
            TxnType.SIGN_OFF,
            p.terminal_id,
            p.merchant_no,
            self.store.next_stan(),
            self.store.batch_no(),
            operator=p.operator,
            local_datetime=self._local_now().replace(tzinfo=None),
        )
        ex = await self._exchange(request)
        self.element.erase_working_keys()
        self.store.update_profile(sign_on_required=True)
        self._refresh()
        if ex.response is None:
            return self._fail(f"sign-off not acknowledged ({ex.error}); keys erased locally")
        return TxnOutcome(
            "approved" if ex.response.approved else "declined",
            "signed off",
            response_code=ex.response.response_code,
            terminal=p.terminal_id,
            txn_type="sign_off",
        )

    async def sign_in(self, operator: str, password: str) -> TxnOutcome:
        """Operator sign-in (操作员签到): three wrong passwords lock the operator."""
        from poskit.terminal.operators import check_operator_password

        check = check_operator_password(
            self.store, operator, password, now=self.devices.clock.now(), zone=self.timezone
        )
        if not check.ok:
            self.store.log_event("operator_sign_in_refused", operator=operator, reason=check.message)
            return self._fail(check.message, txn_type="sign_in")
        self.store.update_profile(operator=operator)
        self._refresh()
        self.store.log_event("operator_signed_in", operator=operator)
        await self._say(f"Operator {operator} signed in", "success")
        return TxnOutcome(
            "approved",
            f"operator {operator} signed in",
            terminal=self.profile.terminal_id,
            txn_type="sign_in",
            extra={"operator": operator, "role": check.role},
        )

    async def sign_out(self) -> TxnOutcome:
        """Operator sign-out: no payment until someone signs in again."""
        previous = self.profile.operator
        self.store.update_profile(operator=None)
        self._refresh()
        self.store.log_event("operator_signed_out", operator=previous)
        await self._say("Signed out")
        return TxnOutcome(
            "approved",
            f"operator {previous or '-'} signed out",
            terminal=self.profile.terminal_id,
            txn_type="sign_out",
            extra={"operator": previous},
        )

    async def reprint(self, voucher: int | None = None) -> TxnOutcome:
        """Reprint the last receipt or one by voucher number, marked REPRINT."""
        record = self.store.last_record() if voucher is None else self.store.find_voucher(voucher)
        if record is None or not record.receipt:
            what = "no transaction yet" if voucher is None else f"no voucher {voucher:06d}"
            return self._fail(f"nothing to reprint: {what}", txn_type="reprint")
        receipt = Receipt.from_json(record.receipt).as_reprint()
        try:
            await self.devices.printer.print_receipt(receipt, copy="merchant")
            await self.devices.printer.print_receipt(receipt, copy="cardholder")
        except PrinterError as exc:
            return self._fail(f"printer: {exc}", txn_type="reprint")
        return TxnOutcome(
            "approved",
            f"voucher {record.stan:06d} reprinted",
            terminal=self.profile.terminal_id,
            stan=record.stan,
            batch=record.batch_no,
            rrn=record.rrn,
            receipt=receipt,
            amount=Amount.of(record.amount, record.currency),
            masked_pan=record.pan_masked,
            txn_type="reprint",
        )

    def query(self, voucher: int) -> BatchRecord | None:
        """Transaction query by voucher number (the latest batch holding it), in local time."""
        record = self.store.find_voucher(voucher)
        return self.in_local_time(record) if record is not None else None

    def in_local_time(self, record: BatchRecord) -> BatchRecord:
        """The record with its date/time (stored in UTC) in the terminal's zone, for people to read."""
        return dataclasses.replace(record, local_datetime=record.local_datetime.astimezone(self.timezone))

    def totals(self) -> dict[str, Any]:
        """The open batch's totals, as settlement will send them."""
        from poskit.terminal.settlement import batch_totals, totals_json, totals_slip

        batch = self.store.batch_no()
        records = [r for r in self.store.records(batch) if not r.settled]
        totals = batch_totals(records)
        return {
            "batch": f"{batch:06d}",
            "transactions": len(records),
            "totals": totals_json(totals, self.profile.currency),
            "slip": totals_slip(self, batch, totals, len(records)),
        }

    async def sign(self, voucher: int, png: bytes) -> TxnOutcome:
        """Supply the cardholder's signature for a voucher (补签), upload it, print the signed slip."""
        from poskit.terminal.signatures import sign

        return await sign(self, voucher, png)

    def unsigned(self) -> list[BatchRecord]:
        """Approved transactions that need a signature and have none (补签 list)."""
        return [
            self.in_local_time(r)
            for r in self.store.records()
            if r.signature_required and r.signature is None and r.status in ("approved", "completed")
        ]

    def last_record(self) -> BatchRecord | None:
        return self.store.last_record()


_RECEIPT_TYPES = {
    TxnType.SALE: "SALE",
    TxnType.VOID: "VOID",
    TxnType.REFUND: "REFUND",
    TxnType.PREAUTH: "PREAUTH",
    TxnType.PREAUTH_VOID: "PREAUTH_VOID",
    TxnType.COMPLETION: "COMPLETION",
    TxnType.COMPLETION_VOID: "COMPLETION_VOID",
    TxnType.COMPLETION_ADVICE: "COMPLETION_ADVICE",
    TxnType.BALANCE: "BALANCE",
}
_DONE_TEXT = {
    TxnType.SALE: "payment successful",
    TxnType.VOID: "void successful",
    TxnType.REFUND: "refund successful",
    TxnType.PREAUTH: "pre-authorisation approved",
    TxnType.PREAUTH_VOID: "pre-authorisation cancelled",
    TxnType.COMPLETION: "pre-authorisation completed",
    TxnType.COMPLETION_VOID: "completion voided",
    TxnType.COMPLETION_ADVICE: "completion recorded",
}


def _signature_decision(txn_type: TxnType, card: CardData) -> tuple[bool, str]:
    """(signature required, the waiver printed instead) from the PIN digit and field 55 sent."""
    icc: dict[str, bytes] | None = None
    if card.icc_data:
        try:
            icc = parse_icc_data(card.icc_data)
        except Field55Error:
            icc = None  # the host refuses such a request (30) before any slip exists
    cvm = signature_rule.cvm_performed(card.entry_mode.value, card.pin_entered, icc)
    contactless = card.entry_mode in (EntryMode.CONTACTLESS_CHIP, EntryMode.CONTACTLESS_MSD)
    return (
        signature_rule.signature_required(txn_type.value, cvm),
        signature_rule.signature_waiver(txn_type.value, cvm, contactless=contactless),
    )


def _original_json(original: Original | None) -> dict[str, Any] | None:
    if original is None:
        return None
    return {
        "batch": original.batch,
        "stan": original.stan,
        "date": original.date,
        "rrn": original.rrn,
        "auth_code": original.auth_code,
        "txn_type": original.txn_type.value if original.txn_type else None,
    }


def _original_from_json(data: dict[str, Any] | None) -> Original | None:
    if not data:
        return None
    return Original(
        batch=data.get("batch"),
        stan=data.get("stan"),
        date=data.get("date"),
        rrn=data.get("rrn"),
        auth_code=data.get("auth_code"),
        txn_type=TxnType(data["txn_type"]) if data.get("txn_type") else None,
    )


def _advice_payload(
    request: Request,
    token: str,
    amount: Amount,
    entry: str,
    label: str,
    signature_required: bool,
    record_extra: dict[str, Any] | None,
) -> dict[str, Any]:
    """What is needed to re-send an unanswered advice (no track, no PIN block: card by token)."""
    return {
        "txn_type": request.txn_type.value,
        "stan": request.stan,
        "batch": request.batch,
        "amount": amount.minor,
        "currency": amount.currency.code,
        "pan_token": token,
        "entry": entry,
        "label": label,
        "original": _original_json(request.original),
        "operator": request.operator,
        "signature_required": signature_required,
        "record_extra": record_extra or {},
        "local_datetime": request.local_datetime.isoformat() if request.local_datetime else None,
    }


def describe_service_code(code: str) -> str:
    s = ServiceCode(code)
    return ("chip" if s.chip_card else "magstripe") + (", PIN required" if s.pin_required else "")


def masked(pan: str) -> str:
    return mask_pan(pan)
