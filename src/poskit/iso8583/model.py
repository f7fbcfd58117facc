"""The dialect-neutral transaction model the terminal and the host work with.

Terminal and host code build and read :class:`Request` and :class:`Response`; the
dialects (:mod:`poskit.iso8583.dialects`) map them to field numbers. Amounts are
:class:`poskit.money.Amount` (integer minor units). Times are naive local datetimes.
Objects that hold card data hide it in their repr.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime

from poskit.cards.pan import mask_pan
from poskit.iso8583.response_codes import is_approved
from poskit.money import Amount, Currency

__all__ = [
    "KEY_SCHEMES",
    "BatchItem",
    "BatchUpload",
    "CardData",
    "EntryMode",
    "Original",
    "Reconciliation",
    "Request",
    "Response",
    "SignatureUpload",
    "Totals",
    "TxnType",
    "WorkingKeys",
]


class TxnType(enum.StrEnum):
    """What a message does, independent of the dialect that carries it."""

    SALE = "sale"
    VOID = "void"
    REFUND = "refund"
    PREAUTH = "preauth"
    PREAUTH_VOID = "preauth_void"
    COMPLETION = "completion"
    COMPLETION_VOID = "completion_void"
    COMPLETION_ADVICE = "completion_advice"
    OFFLINE_SALE_ADVICE = "offline_sale_advice"
    BALANCE = "balance"
    REVERSAL = "reversal"
    SCRIPT_ADVICE = "script_advice"
    SIGN_ON = "sign_on"
    SIGN_OFF = "sign_off"
    ECHO = "echo"
    STATUS_UPLOAD = "status_upload"
    SETTLEMENT = "settlement"
    BATCH_UPLOAD = "batch_upload"
    BATCH_UPLOAD_END = "batch_upload_end"
    SIGNATURE_UPLOAD = "signature_upload"


class EntryMode(enum.StrEnum):
    """How the card data was captured (field 22, first two digits)."""

    MANUAL = "manual"  # 01
    SWIPE = "swipe"  # 02
    CHIP = "chip"  # 05
    CONTACTLESS_CHIP = "contactless_chip"  # 07 (qPBOC)
    CONTACTLESS_MSD = "contactless_msd"  # 91
    FALLBACK = "fallback"  # 80: chip failed, card swiped


class Reconciliation(enum.StrEnum):
    """Settlement reconciliation result (对账应答代码)."""

    NOT_CHECKED = "0"  # what the terminal sends
    BALANCED = "1"  # 对账平
    UNBALANCED = "2"  # 对账不平: batch upload follows
    ERROR = "3"  # 对账出错


#: Sign-on key schemes (cups 60.3): 001 single DES PIK+MAK, 003 3DES PIK+MAK,
#: 004 3DES PIK+MAK+TDK, 006 SM4 PIK+MAK+TDK.
KEY_SCHEMES = ("001", "003", "004", "006")


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class CardData:
    """Card data as captured at the terminal.

    ``track2`` is the field-35 form (digits with ``D`` as separator), possibly with the
    TDK-encrypted block in it (``track2_encrypted``). ``expiry`` is YYMM.
    ``pin_block`` is the encrypted PIN block; ``pin_max_length`` is field 26.
    """

    entry_mode: EntryMode = EntryMode.SWIPE
    pan: str | None = None
    track2: str | None = None
    track2_encrypted: bool = False
    track3: str | None = None
    expiry: str | None = None
    card_sequence: str | None = None
    pin_block: bytes | None = None
    pin_max_length: int | None = None
    icc_data: bytes | None = None
    service_code: str | None = None

    @property
    def pin_entered(self) -> bool:
        return self.pin_block is not None

    def __repr__(self) -> str:
        parts = [f"entry_mode={self.entry_mode.value}"]
        if self.pan is not None:
            parts.append(f"pan={mask_pan(self.pan)}")
        if self.track2 is not None:
            parts.append("track2=<hidden>")
        if self.track3 is not None:
            parts.append("track3=<hidden>")
        if self.expiry is not None:
            parts.append("expiry=<hidden>")
        if self.card_sequence is not None:
            parts.append(f"card_sequence={self.card_sequence}")
        if self.pin_block is not None:
            parts.append("pin_block=<hidden>")
        if self.icc_data is not None:
            parts.append(f"icc_data=<{len(self.icc_data)} bytes>")
        if self.service_code is not None:
            parts.append(f"service_code={self.service_code}")
        return f"CardData({', '.join(parts)})"


@dataclasses.dataclass(frozen=True, slots=True)
class Original:
    """The transaction a message refers to (void, refund, completion, reversal...).

    ``date`` is MMDD, ``time`` hhmmss, ``settlement_date`` MMDD (field 15 of its
    response). For a reversal, ``reference`` is what the reversed transaction itself
    referred to (a reversed void's sale), re-sent in field 61.
    """

    batch: int | None = None
    stan: int | None = None
    date: str | None = None
    time: str | None = None
    rrn: str | None = None
    auth_code: str | None = None
    txn_type: TxnType | None = None
    mti: str | None = None
    settlement_date: str | None = None
    reference: Original | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Totals:
    """Settlement totals in minor units of the batch currency.

    Debit = sales and completions; credit = voids, refunds and completion voids.
    ``foreign_*`` are cards of foreign schemes (外卡), the rest domestic (内卡).
    """

    debit_amount: int = 0
    debit_count: int = 0
    credit_amount: int = 0
    credit_count: int = 0
    foreign_debit_amount: int = 0
    foreign_debit_count: int = 0
    foreign_credit_amount: int = 0
    foreign_credit_count: int = 0


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class BatchItem:
    """One magstripe/advice detail of a batch upload (60.3 = 201)."""

    stan: int
    pan: str
    amount: int
    foreign: bool = False

    def __repr__(self) -> str:
        return (
            f"BatchItem(stan={self.stan}, pan={mask_pan(self.pan)}, amount={self.amount}, "
            f"foreign={self.foreign})"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class BatchUpload:
    """Batch upload content.

    ``code`` is the upload kind (cups 60.3): 201 magstripe/advice details in ``items``
    (at most 8 per message), 203/205 one IC transaction (balanced/unbalanced
    settlement; card, amount and original travel on the :class:`Request`), 202/207 end
    of upload with ``count`` transactions sent.
    """

    code: str = "201"
    items: tuple[BatchItem, ...] = ()
    count: int | None = None


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class SignatureUpload:
    """One electronic-signature message: a chunk of the JBIG image, whether it
    continues an earlier chunk (60.3 = 801), and the e-receipt TLV (field 55)."""

    image: bytes
    continuation: bool = False
    receipt_tlv: bytes | None = None

    def __repr__(self) -> str:
        tlv = "None" if self.receipt_tlv is None else f"<{len(self.receipt_tlv)} bytes>"
        return (
            f"SignatureUpload(image=<{len(self.image)} bytes>, continuation={self.continuation},"
            f" receipt_tlv={tlv})"
        )


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class WorkingKeys:
    """Working keys from a sign-on response (field 62), each encrypted under the TMK,
    with their check values (first 4 bytes of the key encrypting zeros)."""

    pik: bytes
    pik_kcv: bytes
    mak: bytes
    mak_kcv: bytes
    tdk: bytes | None = None
    tdk_kcv: bytes | None = None

    def __repr__(self) -> str:
        tdk = "None" if self.tdk is None else f"<{len(self.tdk)} bytes>"
        tdk_kcv = "None" if self.tdk_kcv is None else self.tdk_kcv.hex().upper()
        return (
            f"WorkingKeys(pik=<{len(self.pik)} bytes>, pik_kcv={self.pik_kcv.hex().upper()}, "
            f"mak=<{len(self.mak)} bytes>, mak_kcv={self.mak_kcv.hex().upper()}, "
            f"tdk={tdk}, tdk_kcv={tdk_kcv})"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """A terminal request in dialect-neutral form.

    ``stan`` (field 11) and ``batch`` (60.2) identify it per terminal. ``currency``
    defaults to the amount's currency. ``reading_capability``/``chip_condition``/
    ``partial_approval`` are 60.4/60.5/60.6 (60.5 = "2" marks a fallback); each needs
    the one before it. ``account_type`` is digits 3-4 of the processing code.
    ``key_scheme``: at sign-on the key download scheme (001/003/004/006); on financial
    messages only "001" matters (single-DES keys, field 53 digit 2 = 0).
    ``ksn`` (DUKPT key serial number, 10 bytes) travels in field 62 of PIN-bearing
    requests. ``terminal_info`` is the TLV of field 62 in sign-on and status uploads.
    """

    txn_type: TxnType
    terminal_id: str
    merchant_id: str
    stan: int
    batch: int
    amount: Amount | None = None
    currency: Currency | None = None
    card: CardData | None = None
    operator: str | None = None
    original: Original | None = None
    reversal_reason: str | None = None
    repeat: bool = False
    local_datetime: datetime | None = None
    account_type: str = "00"
    reading_capability: str | None = None
    chip_condition: str | None = None
    partial_approval: bool | None = None
    key_scheme: str | None = None
    totals: Totals | None = None
    batch_upload: BatchUpload | None = None
    signature: SignatureUpload | None = None
    terminal_model: str | None = None
    terminal_info: bytes | None = None
    ksn: bytes | None = None

    def __post_init__(self) -> None:
        if self.amount is not None:
            if self.currency is None:
                object.__setattr__(self, "currency", self.amount.currency)
            elif self.currency != self.amount.currency:
                raise ValueError("Request.currency differs from the amount's currency")

    @property
    def pan(self) -> str | None:
        return self.card.pan if self.card is not None else None


@dataclasses.dataclass(frozen=True, slots=True)
class Response:
    """A host response in dialect-neutral form.

    ``host_datetime`` comes from fields 12/13 (the terminal sets its clock from it at
    sign-on); ``settlement_date`` is field 15 (MMDD). ``processing_requirement`` is the
    cups header's low nibble (0 in ascii87). ``icc_data`` is field 55 from the issuer
    (91 / 71 / 72). For settlement, ``totals`` are the host's totals and
    ``reconciliation``/``foreign_reconciliation`` the results.
    """

    txn_type: TxnType
    response_code: str
    terminal_id: str
    merchant_id: str | None = None
    stan: int | None = None
    batch: int | None = None
    rrn: str | None = None
    auth_code: str | None = None
    host_datetime: datetime | None = None
    settlement_date: str | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    balance: Amount | None = None
    working_keys: WorkingKeys | None = None
    key_scheme: str | None = None
    icc_data: bytes | None = dataclasses.field(default=None, repr=False)
    processing_requirement: int = 0
    totals: Totals | None = None
    reconciliation: Reconciliation | None = None
    foreign_reconciliation: Reconciliation | None = None
    acquirer_id: str | None = None
    issuer_id: str | None = None
    card_organisation: str | None = None
    remarks: tuple[str, ...] = ()
    merchant_name: str | None = None
    #: field 62 of an approved financial response: the e-receipt link's token (printed, never logged)
    e_receipt_token: str | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.amount is not None:
            if self.currency is None:
                object.__setattr__(self, "currency", self.amount.currency)
            elif self.currency != self.amount.currency:
                raise ValueError("Response.currency differs from the amount's currency")

    @property
    def approved(self) -> bool:
        return is_approved(self.response_code)
