"""The state of one EMV transaction, shared by the contact and the contactless flows.

It holds the terminal data objects (built from the config and the amount), the data read
from the card, TVR and TSI, and the steps both flows share: GET PROCESSING OPTIONS, reading
the records the AFL lists, building DOL data and the :class:`FirstPhase` result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from poskit.cards.track2 import Track2, Track2Error
from poskit.emv.apdu import SW, Apdu, ResponseApdu, get_processing_options, read_record
from poskit.emv.config import AidConfig, TerminalConfig
from poskit.emv.dol import DolError, build_dol_data
from poskit.emv.field55 import CONTACTLESS_EXTRA_TAGS, REQUEST_TAGS, build_icc_data
from poskit.emv.outcome import CvmName, EntryModeName, FirstPhase, OdaMethod, Outcome, PinEntry
from poskit.emv.selection import Candidate, candidate_from_fci
from poskit.emv.tlv import TlvError, decode, flatten
from poskit.emv.transport import ApduChannel
from poskit.emv.tvr import Tsi, Tvr
from poskit.money import Amount

__all__ = ["SWITCH_INTERFACE_SW", "CardError", "TransactionContext", "bcd"]


class CardError(Exception):
    """The card answered something the kernel cannot continue with (terminates the transaction).

    ``fallback``: a technical chip failure after which a swipe may be accepted (Book 4 §11.4);
    False for a card that refused on purpose (blocked).
    """

    def __init__(self, reason: str, *, fallback: bool = True) -> None:
        super().__init__(f"card error: {reason}")
        self.reason = reason
        self.fallback = fallback


def bcd(number: int, length: int) -> bytes:
    """Numeric (n) data element of ``length`` bytes."""
    return bytes.fromhex(f"{number:0{2 * length}d}")


def _ans(text: str, length: int) -> bytes:
    return text.encode("ascii", "replace")[:length].ljust(length, b" ")


class TransactionContext:
    """Data and shared steps of one transaction (not thread-safe; one per card session)."""

    def __init__(
        self,
        config: TerminalConfig,
        channel: ApduChannel,
        *,
        amount: Amount,
        other_amount: Amount | None,
        transaction_type: str,
        sequence_number: int,
        entry_mode: EntryModeName,
        random: Callable[[int], bytes],
        now: dt.datetime,
        pin_entry: PinEntry,
    ) -> None:
        self.config = config
        self.channel = channel
        self.amount = amount
        self.other_amount = other_amount
        self.transaction_type = transaction_type
        self.entry_mode: EntryModeName = entry_mode
        self.random = random
        self.now = now
        self.pin_entry = pin_entry
        self.tvr = Tvr()
        self.tsi = Tsi()
        self.card: dict[str, bytes] = {}
        self.fci: dict[str, bytes] = {}
        self.candidate: Candidate | None = None
        self.aid_config: AidConfig | None = None
        self.pdol_data = b""
        self.record_tags: set[str] = set()
        self.oda_records: list[tuple[int, bytes]] = []
        self.cvm: CvmName = "no_cvm"
        self.signature_required = False
        self.consumer_device_cvm = False
        self.oda: OdaMethod = "none"
        minor = amount.minor
        other = other_amount.minor if other_amount else 0
        self.terminal: dict[str, bytes] = {
            "9F02": bcd(minor, 6),
            "9F03": bcd(other, 6),
            "81": minor.to_bytes(4, "big"),
            "9F04": other.to_bytes(4, "big"),
            "9F1A": bytes.fromhex(config.country_code),
            "5F2A": bytes.fromhex(config.currency_code),
            "5F36": bcd(config.currency_exponent, 1),
            "9A": bytes.fromhex(now.strftime("%y%m%d")),
            "9F21": bytes.fromhex(now.strftime("%H%M%S")),
            "9C": bytes.fromhex(transaction_type),
            "9F37": random(4),
            "9F33": bytes.fromhex(config.terminal_capabilities),
            "9F40": bytes.fromhex(config.additional_capabilities),
            "9F35": bytes.fromhex(config.terminal_type),
            "9F1E": _ans(config.ifd_serial_number, 8),
            "9F1C": _ans(config.terminal_id, 8),
            "9F16": _ans(config.merchant_id, 15),
            "9F15": bytes.fromhex(config.merchant_category_code),
            "9F4E": config.merchant_name_location.encode("ascii", "replace"),
            "9F01": bcd(int(config.acquirer_id), 6),
            "9F41": bcd(sequence_number % 100_000_000, 4),
            "9F39": bytes.fromhex("07" if entry_mode == "contactless" else "05"),
        }

    # data ---------------------------------------------------------------------------------
    def values(self) -> dict[str, bytes]:
        """Card data overlaid with the terminal's (terminal wins for terminal-sourced tags)."""
        merged = {**self.fci, **self.card, **self.terminal}
        merged["95"] = self.tvr.to_bytes()
        merged["9B"] = self.tsi.to_bytes()
        return merged

    def select_application(self, candidate: Candidate, fci: dict[str, bytes]) -> None:
        self.candidate = candidate_from_fci(candidate, fci)
        self.fci = fci
        self.aid_config = self.config.aid(candidate.aid)
        self.terminal["9F06"] = bytes.fromhex(self.aid_config.aid if self.aid_config else candidate.aid)
        if self.aid_config is not None:
            self.terminal["9F09"] = bytes.fromhex(self.aid_config.application_version)
        self.card.clear()
        self.record_tags.clear()
        self.oda_records.clear()

    def send(self, apdu: Apdu) -> ResponseApdu:
        return self.channel.send(apdu)

    # shared steps -------------------------------------------------------------------------
    def get_processing_options(self) -> ResponseApdu:
        """GPO with the PDOL data; on success the AIP/AFL (and any other data) go to ``card``."""
        pdol = self.fci.get("9F38", b"")
        try:
            self.pdol_data = build_dol_data(pdol, self.values()) if pdol else b""
        except DolError as exc:
            raise CardError(f"PDOL cannot be processed: {exc.reason}") from None
        response = self.send(get_processing_options(self.pdol_data))
        if not response.ok:
            return response
        try:
            items = decode(response.data)
        except TlvError as exc:
            raise CardError(f"GPO response is not TLV: {exc.reason}") from None
        if not items:
            raise CardError("GPO response is empty")
        if items[0].tag == "80":
            value = items[0].value
            if len(value) < 2 or (len(value) - 2) % 4:
                raise CardError("GPO format 1 response has a malformed AIP/AFL")
            self._store({"82": value[:2], "94": value[2:]})
        elif items[0].tag == "77":
            self._store(flatten(items[0].children))
        else:
            raise CardError(f"GPO response template {items[0].tag} is neither 80 nor 77")
        if "82" not in self.card or "94" not in self.card:
            raise CardError("GPO response lacks the AIP (82) or the AFL (94)")
        return response

    def _store(self, values: dict[str, bytes]) -> None:
        for tag, value in values.items():
            if tag in self.record_tags:
                raise CardError(f"tag {tag} returned twice by the card")
            self.record_tags.add(tag)
            self.card[tag] = value

    def read_application_data(self) -> None:
        """READ RECORD for each AFL entry (Book 3 §10.2); records for ODA are kept."""
        afl = self.card.get("94", b"")
        if len(afl) % 4:
            raise CardError("AFL length is not a multiple of 4")
        for i in range(0, len(afl), 4):
            sfi, first, last, oda_count = afl[i] >> 3, afl[i + 1], afl[i + 2], afl[i + 3]
            if not 1 <= sfi <= 30 or first == 0 or last < first or oda_count > last - first + 1:
                raise CardError(f"AFL entry {afl[i : i + 4].hex().upper()} is malformed")
            for record in range(first, last + 1):
                response = self.send(read_record(sfi, record))
                if not response.ok:
                    raise CardError(f"READ RECORD SFI {sfi} record {record}: {response.meaning}")
                data = response.data
                if record - first < oda_count:
                    self.oda_records.append((sfi, data))
                try:
                    items = decode(data)
                except TlvError as exc:
                    raise CardError(f"record SFI {sfi}/{record} is not TLV: {exc.reason}") from None
                if sfi <= 10 and (len(items) != 1 or items[0].tag != "70"):
                    raise CardError(f"record SFI {sfi}/{record} is not a '70' template")
                children = items[0].children if items[0].tag == "70" else tuple(items)
                self._store({c.tag: c.value for c in children if not c.constructed})

    # card data views ----------------------------------------------------------------------
    @property
    def pan(self) -> str | None:
        value = self.card.get("5A")
        if value is None:
            track = self.track2
            return track.pan if track else None
        return value.hex().upper().rstrip("F")

    @property
    def track2(self) -> Track2 | None:
        value = self.card.get("57") or self.card.get("9F6B")
        if value is None:
            return None
        try:
            return Track2.parse(value.hex().upper())
        except Track2Error:
            return None

    @property
    def expiry(self) -> str | None:
        value = self.card.get("5F24")
        if value is not None:
            return value.hex()[:4]
        track = self.track2
        return track.expiry if track else None

    @property
    def psn(self) -> str | None:
        value = self.card.get("5F34")
        return value.hex() if value else None

    @property
    def aip(self) -> bytes:
        return self.card.get("82", b"\x00\x00")

    # result -------------------------------------------------------------------------------
    def icc_data(self, values: dict[str, bytes], extra: tuple[str, ...] = ()) -> bytes:
        tags = REQUEST_TAGS + (CONTACTLESS_EXTRA_TAGS if self.entry_mode == "contactless" else ()) + extra
        return build_icc_data(values, tags)

    def first_phase(
        self,
        outcome: Outcome,
        message: str,
        *,
        values: dict[str, bytes] | None = None,
        extra_tags: tuple[str, ...] = (),
        fallback: bool = False,
    ) -> FirstPhase:
        data = values if values is not None else self.values()
        cid = data.get("9F27")
        atc = data.get("9F36")
        label = None
        if self.candidate is not None:
            label = self.candidate.display_name
        icc = self.icc_data(data, extra_tags) if "9F26" in data else b""
        return FirstPhase(
            outcome=outcome,
            message=message,
            entry_mode=self.entry_mode,
            pan=self.pan,
            track2_equivalent=self.track2,
            expiry=self.expiry,
            psn=self.psn,
            aid=self.candidate.aid if self.candidate else None,
            application_label=label,
            cvm=self.cvm,
            signature_required=self.signature_required,
            consumer_device_cvm=self.consumer_device_cvm,
            icc_data=icc,
            tvr=data.get("95", self.tvr.to_bytes()),
            tsi=self.tsi.to_bytes(),
            cryptogram=data.get("9F26"),
            cid=cid[0] if cid else None,
            cvm_results=data.get("9F34", b""),
            atc=int.from_bytes(atc, "big") if atc else None,
            oda=self.oda,
            fallback_allowed=fallback,
        )


#: Status words after which a contactless card asks for another interface.
SWITCH_INTERFACE_SW = frozenset({SW.CONDITIONS_NOT_SATISFIED, SW.REFERENCED_DATA_INVALIDATED})
