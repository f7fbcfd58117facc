"""The EMV terminal kernel: a contact transaction per EMV Book 3 §10 and Book 4 §6.

:meth:`EmvKernel.start` runs everything up to the first GENERATE AC and returns a
:class:`FirstPhase` (``online`` with an ARQC and the field 55 data, or an offline
decision). After the host answered, :meth:`EmvKernel.complete` performs issuer
authentication, issuer scripts and the second GENERATE AC and returns a
:class:`SecondPhase` (``reversal_required`` when the host approved and the card declined).

Steps of :meth:`start` (contact): application selection -> initiate application
processing (GPO with PDOL data) -> read application data (AFL) -> offline data
authentication (CDA, DDA or SDA) -> processing restrictions -> cardholder verification
(CVM list) -> terminal risk management -> terminal action analysis -> first GENERATE AC ->
card action analysis. With ``contactless=True`` the single-tap flow of
:mod:`poskit.emv.contactless` runs instead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Sequence
from typing import Literal

from poskit.emv import contactless as _contactless
from poskit.emv.action import default_action_analysis, terminal_action_analysis
from poskit.emv.apdu import (
    AcType,
    external_authenticate,
    generate_ac,
    get_challenge,
    get_data,
    internal_authenticate,
    verify,
)
from poskit.emv.certificates import OdaError, RsaPublicKey, recover_icc_certificate
from poskit.emv.config import TerminalConfig
from poskit.emv.context import CardError, TransactionContext
from poskit.emv.cryptogram import cryptogram_type
from poskit.emv.cvm import (
    ENCIPHERED_PIN,
    ENCIPHERED_PIN_AND_SIGNATURE,
    NO_CVM,
    NO_CVM_PERFORMED_RESULTS,
    ONLINE_PIN,
    PLAINTEXT_PIN,
    PLAINTEXT_PIN_AND_SIGNATURE,
    SIGNATURE,
    CvmContext,
    CvmError,
    CvmList,
    CvmOutcome,
    CvmRule,
    process_cvm_list,
)
from poskit.emv.dol import DolError, build_dol_data, parse_dol, tc_hash_value
from poskit.emv.field55 import (
    OFFLINE_EXTRA_TAGS,
    REQUEST_TAGS,
    REVERSAL_TAGS,
    SCRIPT_ADVICE_TAGS,
    build_icc_data,
)
from poskit.emv.oda import (
    recover_icc_key,
    recover_issuer_key,
    static_data_to_authenticate,
    transaction_data_hash,
    verify_cda_signature,
    verify_dda_signature,
    verify_sda,
)
from poskit.emv.offline_pin import OfflinePinError, encipher_pin, plaintext_pin_block
from poskit.emv.outcome import (
    FirstPhase,
    KernelStateError,
    OdaMethod,
    PinEntry,
    SecondPhase,
)
from poskit.emv.restrictions import check_processing_restrictions
from poskit.emv.risk import check_floor_limit, check_velocity, random_selection
from poskit.emv.selection import (
    Candidate,
    SelectionError,
    candidates_from_aid_list,
    candidates_from_pse,
    choose_and_select,
)
from poskit.emv.tlv import Tlv, TlvError, decode, flatten
from poskit.emv.trace import ApduExchange
from poskit.emv.transport import ApduChannel, IccTransport, IccTransportError
from poskit.emv.tvr import TsiBit, TvrBit
from poskit.money import Amount

__all__ = ["HOST_APPROVAL_CODES", "EmvKernel", "KernelError"]

#: Field 39 codes that mean approved (CUPS success variants included).
HOST_APPROVAL_CODES = frozenset({"00", "10", "11", "A2", "A4", "A5", "A6", "Y1", "Y3"})

# Book 3 §6.5.5.4: the card may answer the level asked for or lower (TC > ARQC > AAC).
_AC_ORDER = {"AAC": 0, "ARQC": 1, "TC": 2}
_PIN_OFFLINE = frozenset(
    {PLAINTEXT_PIN, PLAINTEXT_PIN_AND_SIGNATURE, ENCIPHERED_PIN, ENCIPHERED_PIN_AND_SIGNATURE}
)
_MAX_PIN_PROMPTS = 6


class KernelError(ValueError):
    """A kernel call with bad arguments (e.g. the amount's currency is not the terminal's)."""

    def __init__(self, argument: str, reason: str) -> None:
        super().__init__(f"EMV kernel {argument}: {reason}")
        self.argument = argument
        self.reason = reason


class _GenAcResponse:
    """A parsed GENERATE AC response (format 1 or 2)."""

    def __init__(self, data: bytes) -> None:
        try:
            items = decode(data)
        except TlvError as exc:
            raise CardError(f"GENERATE AC response is not TLV: {exc.reason}") from None
        if not items:
            raise CardError("GENERATE AC response is empty")
        self.items: list[Tlv] = list(items[0].children) if items[0].tag == "77" else []
        if items[0].tag == "80":
            v = items[0].value
            if len(v) < 11:
                raise CardError("GENERATE AC format 1 response shorter than 11 bytes")
            self.values = {"9F27": v[:1], "9F36": v[1:3], "9F26": v[3:11]}
            if len(v) > 11:
                self.values["9F10"] = v[11:]
        elif items[0].tag == "77":
            self.values = flatten(self.items)
        else:
            raise CardError(f"GENERATE AC response template {items[0].tag} is neither 80 nor 77")
        if "9F27" not in self.values or "9F36" not in self.values:
            raise CardError("GENERATE AC response lacks the CID (9F27) or the ATC (9F36)")

    @property
    def cid(self) -> int:
        return self.values["9F27"][0]

    @property
    def ac_type(self) -> str:
        return cryptogram_type(self.cid)


class EmvKernel:
    """One EMV transaction at a time against the card behind ``transport``."""

    def __init__(
        self,
        config: TerminalConfig,
        transport: IccTransport,
        *,
        random: Callable[[int], bytes] = os.urandom,
        now: Callable[[], dt.datetime] = dt.datetime.now,
        choose_application: Callable[[Sequence[Candidate]], int] | None = None,
        pin_entry: PinEntry,
    ) -> None:
        self.config = config
        self.transport = transport
        self.random = random
        self.now = now
        self.choose_application = choose_application
        self.pin_entry = pin_entry
        self._channel = ApduChannel(transport)
        self._ctx: TransactionContext | None = None
        self._awaiting: Literal["none", "contact", "contactless"] = "none"
        self._icc_key: RsaPublicKey | None = None
        self._issuer_key: RsaPublicKey | None = None
        self._cda_active = False
        self._cdol1_data = b""

    # public API ---------------------------------------------------------------------------
    @property
    def trace(self) -> list[ApduExchange]:
        """Masked APDU exchanges of the current (or last) transaction."""
        return list(self._channel.trace)

    def start(
        self,
        amount: Amount,
        *,
        transaction_type: str = "00",
        other_amount: Amount | None = None,
        contactless: bool = False,
        sequence_number: int = 1,
    ) -> FirstPhase:
        """Run the transaction up to the first GENERATE AC (or the contactless tap)."""
        if amount.currency.numeric != self.config.currency_code[-3:]:
            raise KernelError(
                "amount",
                f"currency {amount.currency.code} is not the terminal's "
                f"transaction currency {self.config.currency_code}",
            )
        if amount.minor < 0 or (other_amount is not None and other_amount.minor < 0):
            raise KernelError("amount", "amounts must not be negative")
        if len(transaction_type) != 2 or not transaction_type.isdigit():
            raise KernelError("transaction_type", f"{transaction_type!r} is not two digits (9C)")
        self._channel = ApduChannel(self.transport)
        self._awaiting = "none"
        self._icc_key = self._issuer_key = None
        self._cda_active = False
        ctx = TransactionContext(
            self.config,
            self._channel,
            amount=amount,
            other_amount=other_amount,
            transaction_type=transaction_type,
            sequence_number=sequence_number,
            entry_mode="contactless" if contactless else "chip",
            random=self.random,
            now=self.now(),
            pin_entry=self.pin_entry,
        )
        self._ctx = ctx
        if contactless:
            refused = _contactless.pre_process(ctx)
            if refused is not None:
                return refused
        try:
            self.transport.power_on()
        except IccTransportError as exc:
            return ctx.first_phase("card_error", f"chip read failed: {exc.reason}", fallback=not contactless)
        try:
            if contactless:
                result = _contactless.run(ctx, self.choose_application)
                if result.outcome == "online":
                    self._awaiting = "contactless"
            else:
                result = self._contact(ctx)
        except CardError as exc:
            result = ctx.first_phase("card_error", exc.reason, fallback=exc.fallback)
        except IccTransportError as exc:
            result = ctx.first_phase(
                "card_error", f"chip read failed: {exc.reason}", fallback=not contactless
            )
        if self._awaiting == "none" or contactless:
            self._power_off()
        return result

    def complete(
        self,
        *,
        host_reached: bool,
        response_code: str | None,
        issuer_authentication_data: bytes | None,
        issuer_scripts: bytes | None,
    ) -> SecondPhase:
        """Finish an online transaction: issuer authentication, scripts, second GENERATE AC.

        ``response_code`` is field 39 (it becomes the ARC, tag 8A). ``issuer_authentication_data``
        is the value of tag 91; ``issuer_scripts`` is BER-TLV holding 71/72 templates (the whole
        response field 55 may be passed: other tags are ignored). See
        :func:`poskit.emv.field55.split_response_icc_data`. After a tap there is no second
        GENERATE AC: the host's answer is final and scripts are not delivered.
        """
        ctx = self._ctx
        if ctx is None or self._awaiting == "none":
            raise KernelStateError("complete() needs a first phase that went online")
        mode = self._awaiting
        self._awaiting = "none"
        host_approved = bool(host_reached and response_code in HOST_APPROVAL_CODES)
        if mode == "contactless":
            return _contactless.complete(
                ctx, host_reached=host_reached, response_code=response_code, approved=host_approved
            )
        try:
            return self._complete_contact(
                ctx, host_reached, response_code, host_approved, issuer_authentication_data, issuer_scripts
            )
        except (CardError, IccTransportError) as exc:
            reason = exc.reason
            values = ctx.values()
            return SecondPhase(
                approved=False,
                message=f"card error during completion: {reason}",
                reversal_required=host_approved,
                reversal_icc_data=build_icc_data(values, REVERSAL_TAGS),
                tvr=ctx.tvr.to_bytes(),
                tsi=ctx.tsi.to_bytes(),
            )
        finally:
            self._power_off()

    # contact flow -------------------------------------------------------------------------
    def _power_off(self) -> None:
        with contextlib.suppress(IccTransportError):
            self.transport.power_off()

    def _contact(self, ctx: TransactionContext) -> FirstPhase:
        try:
            candidates = candidates_from_pse(self._channel, self.config) if self.config.use_pse else None
            if not candidates:
                candidates = candidates_from_aid_list(self._channel, self.config)
        except SelectionError as exc:
            raise CardError(exc.reason, fallback=not exc.card_blocked) from None
        remaining = list(candidates)
        while True:
            if not remaining:
                raise CardError("no application both the card and the terminal support", fallback=True)
            try:
                candidate, fci_items = choose_and_select(self._channel, remaining, self.choose_application)
            except SelectionError as exc:
                raise CardError(exc.reason, fallback=not exc.card_blocked) from None
            fci = flatten(fci_items)
            ctx.select_application(candidate, fci)
            response = ctx.get_processing_options()
            if response.ok:
                break
            if response.sw == 0x6985:  # Book 3 §10.1: remove and return to selection
                remaining = [c for c in remaining if c.aid != candidate.aid]
                continue
            raise CardError(f"GET PROCESSING OPTIONS: {response.meaning}")
        ctx.read_application_data()
        missing = [tag for tag in ("5F24", "5A", "8C", "8D") if tag not in ctx.card]
        if missing:
            ctx.tvr.set(TvrBit.ICC_DATA_MISSING)
            raise CardError(f"mandatory card data missing: {', '.join(missing)}")
        self._offline_data_authentication(ctx)
        self._processing_restrictions(ctx)
        self._cardholder_verification(ctx)
        self._terminal_risk_management(ctx)
        return self._first_generate_ac(ctx)

    # offline data authentication ------------------------------------------------------------
    def _oda_method(self, ctx: TransactionContext) -> OdaMethod:
        aip = ctx.aip[0]
        if aip & 0x01 and self.config.supports_cda:
            return "cda"
        if aip & 0x20 and self.config.supports_dda:
            return "dda"
        if aip & 0x40 and self.config.supports_sda:
            return "sda"
        return "none"

    def _offline_data_authentication(self, ctx: TransactionContext) -> None:
        method = self._oda_method(ctx)
        ctx.oda = method
        if method == "none":
            ctx.tvr.set(TvrBit.ODA_NOT_PERFORMED)
            return
        failed_bit = {"sda": TvrBit.SDA_FAILED, "dda": TvrBit.DDA_FAILED, "cda": TvrBit.CDA_FAILED}[method]
        if method == "sda":
            ctx.tvr.set(TvrBit.SDA_SELECTED)
        ctx.tsi.set(TsiBit.ODA_PERFORMED)
        needed = ["8F", "90", "9F32"] + (["93"] if method == "sda" else ["9F46", "9F47"])
        if any(tag not in ctx.card for tag in needed):
            ctx.tvr.set(TvrBit.ICC_DATA_MISSING)
            ctx.tvr.set(failed_bit)
            return
        rid = (ctx.candidate.aid if ctx.candidate else "")[:10]
        today = ctx.now.date()
        try:
            static = static_data_to_authenticate(ctx.oda_records, ctx.card.get("9F4A"), ctx.aip)
            self._issuer_key = recover_issuer_key(ctx.card, self.config.ca_keys, rid, today)
            if method == "sda":
                ctx.card["9F45"] = verify_sda(ctx.card, self._issuer_key, static)
                return
            self._icc_key = recover_icc_key(ctx.card, self._issuer_key, static, today)
            if method == "dda":
                self._dynamic_data_authentication(ctx, self._icc_key)
            else:
                self._cda_active = True
        except (OdaError, TlvError, DolError):
            self._cda_active = False
            ctx.tvr.set(failed_bit)

    def _dynamic_data_authentication(self, ctx: TransactionContext, icc_key: RsaPublicKey) -> None:
        ddol = ctx.card.get("9F49")
        if ddol is None and ctx.aid_config is not None:
            ddol = bytes.fromhex(ctx.aid_config.default_ddol)
        if not ddol or all(entry.tag != "9F37" for entry in parse_dol(ddol)):
            raise OdaError("DDA", "the DDOL does not contain the unpredictable number")
        ddol_data = build_dol_data(ddol, ctx.values())
        response = ctx.send(internal_authenticate(ddol_data))
        if not response.ok:
            raise OdaError("DDA", f"INTERNAL AUTHENTICATE: {response.meaning}")
        items = decode(response.data)
        if items and items[0].tag == "80":
            sdad = items[0].value
        elif items and items[0].tag == "77":
            sdad = flatten(items[0].children).get("9F4B", b"")
        else:
            raise OdaError("DDA", "INTERNAL AUTHENTICATE response is neither 80 nor 77")
        ctx.card["9F4C"] = verify_dda_signature(sdad, icc_key, ddol_data)

    # processing restrictions ------------------------------------------------------------------
    def _processing_restrictions(self, ctx: TransactionContext) -> None:
        check_processing_restrictions(
            tvr=ctx.tvr,
            today=ctx.now.date(),
            card_version=ctx.card.get("9F08"),
            terminal_version=ctx.terminal.get("9F09", b"\x00\x00"),
            auc=ctx.card.get("9F07"),
            issuer_country=ctx.card.get("5F28"),
            terminal_country=ctx.terminal["9F1A"],
            transaction_type=ctx.transaction_type,
            terminal_type=self.config.terminal_type,
            effective_date=ctx.card.get("5F25"),
            expiry_date=ctx.card["5F24"],
        )

    # cardholder verification ------------------------------------------------------------------
    def _cardholder_verification(self, ctx: TransactionContext) -> None:
        if not ctx.aip[0] & 0x10:
            ctx.terminal["9F34"] = NO_CVM_PERFORMED_RESULTS
            ctx.cvm = "no_cvm"
            return
        raw = ctx.card.get("8E")
        try:
            cvm_list = CvmList.parse(raw) if raw else None
        except CvmError:
            cvm_list = None
        if cvm_list is None or not cvm_list.rules:
            ctx.tvr.set(TvrBit.ICC_DATA_MISSING)
            ctx.terminal["9F34"] = NO_CVM_PERFORMED_RESULTS
            ctx.cvm = "no_cvm"
            return
        app_currency = ctx.card.get("9F42")
        cvm_ctx = CvmContext(
            amount=ctx.amount.minor,
            transaction_type=ctx.transaction_type,
            transaction_currency=self.config.currency_code,
            application_currency=app_currency.hex() if app_currency else None,
            terminal_type=self.config.terminal_type,
            capabilities=self.config.capabilities,
        )
        result = process_cvm_list(cvm_list, cvm_ctx, ctx.tvr, lambda rule: self._perform_cvm(ctx, rule))
        ctx.tsi.set(TsiBit.CVM_PERFORMED)
        ctx.terminal["9F34"] = result.results
        ctx.signature_required = result.signature_required
        if not result.successful:
            ctx.cvm = "failed"
        elif result.method in _PIN_OFFLINE:
            ctx.cvm = "offline_pin"
        elif result.method == ONLINE_PIN:
            ctx.cvm = "online_pin"
        elif result.method == SIGNATURE:
            ctx.cvm = "signature"
        else:
            ctx.cvm = "no_cvm"

    def _perform_cvm(self, ctx: TransactionContext, rule: CvmRule) -> CvmOutcome:
        method = rule.method
        if method == ONLINE_PIN:
            if self.pin_entry.online_pin(pan=ctx.pan or "", amount=ctx.amount):
                ctx.tvr.set(TvrBit.ONLINE_PIN_ENTERED)
                return "unknown"
            ctx.tvr.set(TvrBit.PIN_NOT_ENTERED)
            return "failed"
        if method == SIGNATURE:
            return "unknown"
        if method == NO_CVM:
            return "success"
        if method in _PIN_OFFLINE:
            enciphered = method in (ENCIPHERED_PIN, ENCIPHERED_PIN_AND_SIGNATURE)
            return self._offline_pin(ctx, enciphered=enciphered)
        return "failed"

    def _pin_try_counter(self, ctx: TransactionContext) -> int | None:
        response = ctx.send(get_data("9F17"))
        if not response.ok:
            return None
        try:
            value = flatten(decode(response.data)).get("9F17")
        except TlvError:
            return None
        return value[0] if value else None

    def _pin_encipherment_key(self, ctx: TransactionContext) -> RsaPublicKey | None:
        """ICC PIN encipherment key (9F2D) if present, else the ICC key (Book 2 §7.1)."""
        try:
            if self._issuer_key is None:
                rid = (ctx.candidate.aid if ctx.candidate else "")[:10]
                self._issuer_key = recover_issuer_key(ctx.card, self.config.ca_keys, rid, ctx.now.date())
            if "9F2D" in ctx.card:
                cert = recover_icc_certificate(
                    ctx.card["9F2D"],
                    ctx.card.get("9F2F", b""),
                    ctx.card.get("9F2E", b"\x03"),
                    self._issuer_key,
                    b"",
                )
                return cert.public_key
            if self._icc_key is None:
                static = static_data_to_authenticate(ctx.oda_records, ctx.card.get("9F4A"), ctx.aip)
                self._icc_key = recover_icc_key(ctx.card, self._issuer_key, static, ctx.now.date())
            return self._icc_key
        except (OdaError, TlvError):
            return None

    def _offline_pin(self, ctx: TransactionContext, *, enciphered: bool) -> CvmOutcome:
        tries = self._pin_try_counter(ctx)
        if tries == 0:
            ctx.tvr.set(TvrBit.PIN_TRY_LIMIT_EXCEEDED)
            return "failed"
        key = self._pin_encipherment_key(ctx) if enciphered else None
        if enciphered and key is None:
            return "failed"
        for _ in range(_MAX_PIN_PROMPTS):
            pin = self.pin_entry.offline_pin(tries_left=tries)
            if pin is None:
                ctx.tvr.set(TvrBit.PIN_NOT_ENTERED)
                return "failed"
            try:
                if enciphered and key is not None:
                    challenge = ctx.send(get_challenge())
                    if not challenge.ok or len(challenge.data) != 8:
                        return "failed"
                    data = encipher_pin(pin, challenge.data, key, self.random)
                else:
                    data = plaintext_pin_block(pin)
            except (OfflinePinError, OdaError):
                continue  # the PIN pad would not accept it: prompt again
            response = ctx.send(verify(data, enciphered=enciphered))
            if response.ok:
                return "success"
            if response.sw1 == 0x63 and response.sw2 & 0xF0 == 0xC0:
                tries = response.sw2 & 0x0F
                if tries == 0:
                    ctx.tvr.set(TvrBit.PIN_TRY_LIMIT_EXCEEDED)
                    return "failed"
                continue
            if response.sw in (0x6983, 0x6984):
                ctx.tvr.set(TvrBit.PIN_TRY_LIMIT_EXCEEDED)
            return "failed"
        return "failed"

    # terminal risk management ---------------------------------------------------------------
    def _get_counter(self, ctx: TransactionContext, tag: str) -> int | None:
        response = ctx.send(get_data(tag))
        if not response.ok:
            return None
        try:
            value = flatten(decode(response.data)).get(tag)
        except TlvError:
            return None
        return int.from_bytes(value, "big") if value else None

    def _terminal_risk_management(self, ctx: TransactionContext) -> None:
        if not ctx.aip[0] & 0x08:
            return
        aid = ctx.aid_config
        floor = aid.floor_limit if aid else 0
        if ctx.pan and ctx.pan in self.config.exception_file:
            ctx.tvr.set(TvrBit.EXCEPTION_FILE)
        check_floor_limit(ctx.amount.minor, floor, ctx.tvr)
        if aid is not None:
            random_selection(ctx.amount.minor, floor, aid.random_selection, self.random, ctx.tvr)
        lcol, ucol = ctx.card.get("9F14"), ctx.card.get("9F23")
        if lcol is not None and ucol is not None:
            atc = self._get_counter(ctx, "9F36")
            last_online = self._get_counter(ctx, "9F13")
            check_velocity(atc, last_online, lcol[0], ucol[0], ctx.tvr)
        ctx.tsi.set(TsiBit.TERMINAL_RISK_MANAGEMENT)

    # first GENERATE AC ------------------------------------------------------------------------
    def _action_codes(self, ctx: TransactionContext) -> dict[str, bytes]:
        aid = ctx.aid_config
        return {
            "tac_denial": bytes.fromhex(aid.tac_denial if aid else "0000000000"),
            "tac_online": bytes.fromhex(aid.tac_online if aid else "0000000000"),
            "tac_default": bytes.fromhex(aid.tac_default if aid else "0000000000"),
        }

    def _generate_ac(
        self,
        ctx: TransactionContext,
        ac_type: AcType,
        dol: bytes,
        values: dict[str, bytes],
        *,
        cda: bool,
        previous_dol_data: Sequence[bytes] = (),
    ) -> tuple[_GenAcResponse, bytes]:
        try:
            if any(entry.tag == "98" for entry in parse_dol(dol)):
                tc_hash = self._tc_hash(ctx, values)  # may set "default TDOL used" in 95
                values = {**values, "98": tc_hash}
            dol_data = build_dol_data(dol, values)
        except DolError as exc:
            raise CardError(f"CDOL cannot be processed: {exc.reason}") from None
        response = ctx.send(generate_ac(ac_type, dol_data, cda=cda))
        if not response.ok:
            raise CardError(f"GENERATE AC: {response.meaning}")
        parsed = _GenAcResponse(response.data)
        card_type = parsed.ac_type
        if card_type == "AAR" or _AC_ORDER[card_type] > _AC_ORDER[ac_type]:
            raise CardError(f"card returned {card_type} when {ac_type} was requested")
        if cda and card_type != "AAC":
            sdad = parsed.values.get("9F4B")
            try:
                if sdad is None or self._icc_key is None:
                    raise OdaError("CDA", "signed dynamic application data (9F4B) missing")
                expected = transaction_data_hash(ctx.pdol_data, [*previous_dol_data, dol_data], parsed.items)
                cryptogram, number = verify_cda_signature(
                    sdad,
                    self._icc_key,
                    unpredictable_number=values["9F37"],
                    cid=parsed.cid,
                    expected_hash=expected,
                )
                parsed.values["9F26"] = cryptogram
                parsed.values["9F4C"] = number
            except OdaError:
                ctx.tvr.set(TvrBit.CDA_FAILED)
                parsed.values.setdefault("9F26", bytes(8))
                raise _CdaFailed(parsed, dol_data) from None
        if "9F26" not in parsed.values:
            raise CardError("GENERATE AC response lacks the application cryptogram")
        return parsed, dol_data

    def _tc_hash(self, ctx: TransactionContext, values: dict[str, bytes]) -> bytes:
        """Tag 98 for a CDOL that asks for it: the card's TDOL, else the terminal default."""
        tdol = ctx.card.get("97")
        if tdol is None and ctx.aid_config is not None and ctx.aid_config.default_tdol:
            tdol = bytes.fromhex(ctx.aid_config.default_tdol)
            ctx.tvr.set(TvrBit.DEFAULT_TDOL_USED)
            values["95"] = ctx.tvr.to_bytes()
        return tc_hash_value(tdol or b"", values)

    def _first_generate_ac(self, ctx: TransactionContext) -> FirstPhase:
        codes = self._action_codes(ctx)
        requested = terminal_action_analysis(
            ctx.tvr.to_bytes(),
            iac_denial=ctx.card.get("9F0E"),
            iac_online=ctx.card.get("9F0F"),
            iac_default=ctx.card.get("9F0D"),
            online_capable=self.config.online_capable,
            **codes,
        )
        cda = self._cda_active and requested != "AAC"
        values = ctx.values()
        try:
            parsed, dol_data = self._generate_ac(ctx, requested, ctx.card["8C"], values, cda=cda)
        except _CdaFailed as failed:
            # Book 3 §10.8: CDA failure is a decline; finish the card with an AAC.
            self._cdol1_data = failed.dol_data
            ctx.card.update(failed.response.values)
            ctx.tsi.set(TsiBit.CARD_RISK_MANAGEMENT)
            values = ctx.values()
            if failed.response.ac_type == "ARQC":
                self._second_ac_decline(ctx, b"Z1")
            values["8A"] = b"Z1"
            return ctx.first_phase(
                "declined_offline", "declined: CDA signature invalid", values=values, extra_tags=("8A",)
            )
        self._cdol1_data = dol_data
        ctx.card.update(parsed.values)
        ctx.tsi.set(TsiBit.CARD_RISK_MANAGEMENT)
        values = {**values, **parsed.values}
        values["9B"] = ctx.tsi.to_bytes()
        if parsed.ac_type == "ARQC":
            self._awaiting = "contact"
            return ctx.first_phase("online", "authorise online", values=values)
        if parsed.ac_type == "TC":
            values["8A"] = b"Y1"
            return ctx.first_phase("approved_offline", "approved offline", values=values, extra_tags=("8A",))
        values["8A"] = b"Z1"
        reason = parsed.cid & 0x07
        message = {
            1: "declined offline: service not allowed",
            2: "declined offline: PIN try limit exceeded",
            3: "declined offline: issuer authentication failed",
        }.get(reason, "declined offline by the card")
        return ctx.first_phase("declined_offline", message, values=values, extra_tags=("8A",))

    def _second_ac_decline(self, ctx: TransactionContext, arc: bytes) -> None:
        values = ctx.values()
        values["8A"] = arc
        with contextlib.suppress(CardError, _CdaFailed):
            self._generate_ac(
                ctx, "AAC", ctx.card["8D"], values, cda=False, previous_dol_data=[self._cdol1_data]
            )

    # completion ---------------------------------------------------------------------------
    def _complete_contact(
        self,
        ctx: TransactionContext,
        host_reached: bool,
        response_code: str | None,
        host_approved: bool,
        issuer_authentication_data: bytes | None,
        issuer_scripts: bytes | None,
    ) -> SecondPhase:
        issuer_auth: Literal["passed", "failed", "not_performed"] = "not_performed"
        if host_reached:
            arc_text = (response_code or "Z3")[:2].ljust(2)
            arc = arc_text.encode("ascii", "replace")
            requested: AcType = "TC" if host_approved else "AAC"
        else:
            codes = self._action_codes(ctx)
            requested = default_action_analysis(
                ctx.tvr.to_bytes(), iac_default=ctx.card.get("9F0D"), tac_default=codes["tac_default"]
            )
            arc = b"Y3" if requested == "TC" else b"Z3"
        cdol2 = ctx.card["8D"]
        cdol2_tags = {entry.tag for entry in parse_dol(cdol2)}
        extra: dict[str, bytes] = {"8A": arc}
        if host_reached and issuer_authentication_data:
            if ctx.aip[0] & 0x04:
                response = ctx.send(external_authenticate(issuer_authentication_data))
                ctx.tsi.set(TsiBit.ISSUER_AUTHENTICATION)
                if response.ok:
                    issuer_auth = "passed"
                else:
                    ctx.tvr.set(TvrBit.ISSUER_AUTH_FAILED)
                    issuer_auth = "failed"
            elif "91" in cdol2_tags:
                extra["91"] = issuer_authentication_data
                ctx.tsi.set(TsiBit.ISSUER_AUTHENTICATION)
        scripts = _parse_scripts(issuer_scripts) if host_reached else []
        results: list[bytes] = []
        for script in scripts:
            if script.tag == "71":
                results.append(self._run_script(ctx, script, before_final_ac=True))
        values = {**ctx.values(), **extra}
        cda = self._cda_active and requested == "TC"
        cda_failed = False
        try:
            parsed, _ = self._generate_ac(
                ctx, requested, cdol2, values, cda=cda, previous_dol_data=[self._cdol1_data]
            )
        except _CdaFailed as failed:
            parsed = failed.response
            cda_failed = True
        ctx.card.update(parsed.values)
        if "91" in extra and parsed.ac_type == "TC":
            issuer_auth = "passed"
        elif "91" in extra:
            issuer_auth = "failed"
        for script in scripts:
            if script.tag == "72":
                results.append(self._run_script(ctx, script, before_final_ac=False))
        approved = parsed.ac_type == "TC" and not cda_failed
        script_results = b"".join(results)
        final = {**ctx.values(), **parsed.values, "8A": arc}
        if script_results:
            final["DF31"] = script_results
        if approved:
            message = "approved"
        elif host_approved:
            message = "declined by the card after online approval: reverse the authorisation"
        elif not host_reached:
            message = "declined: host unreachable"
        else:
            message = "declined by the issuer"
        return SecondPhase(
            approved=approved,
            message=message,
            cryptogram=parsed.values.get("9F26"),
            cid=parsed.cid,
            reversal_required=host_approved and not approved,
            script_results=script_results,
            icc_data=build_icc_data(final, REQUEST_TAGS + OFFLINE_EXTRA_TAGS),
            reversal_icc_data=build_icc_data(final, REVERSAL_TAGS),
            script_advice_icc_data=build_icc_data(final, SCRIPT_ADVICE_TAGS) if results else None,
            tvr=ctx.tvr.to_bytes(),
            tsi=ctx.tsi.to_bytes(),
            issuer_authentication=issuer_auth,
            authorisation_response_code=arc.decode("ascii", "replace"),
        )

    def _run_script(self, ctx: TransactionContext, script: Tlv, *, before_final_ac: bool) -> bytes:
        """Send a script's commands in order; returns the 5-byte result (Book 3 §10.10)."""
        ctx.tsi.set(TsiBit.SCRIPT_PROCESSING)
        identifier = bytes(4)
        commands: list[bytes] = []
        for item in script.children:
            if item.tag == "9F18":
                identifier = item.value[:4].rjust(4, b"\x00")
            elif item.tag == "86":
                commands.append(item.value)
        failed_at = 0
        for number, command in enumerate(commands, start=1):
            try:
                raw = self._channel.send_raw(command)
            except IccTransportError:
                failed_at = number
                break
            sw1 = raw[-2] if len(raw) >= 2 else 0x6F
            if sw1 not in (0x90, 0x62, 0x63):
                failed_at = number
                break
        if failed_at or not commands:
            ctx.tvr.set(TvrBit.SCRIPT_FAILED_BEFORE_AC if before_final_ac else TvrBit.SCRIPT_FAILED_AFTER_AC)
            result = 0x10 | min(failed_at, 0x0F)
        else:
            result = 0x20
        return bytes([result]) + identifier


class _CdaFailed(Exception):
    def __init__(self, response: _GenAcResponse, dol_data: bytes) -> None:
        super().__init__("CDA verification failed")
        self.response = response
        self.dol_data = dol_data


def _parse_scripts(data: bytes | None) -> list[Tlv]:
    """Issuer script templates 71/72 from the response's field 55 (other tags ignored)."""
    if not data:
        return []
    try:
        items = decode(data)
    except TlvError:
        return []
    return [item for item in items if item.tag in ("71", "72")]
