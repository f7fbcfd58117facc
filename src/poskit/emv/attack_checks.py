"""Host-side checks against known EMV attacks.

* Basin, Sasse, Toro-Pozo, "The EMV Standard: Break, Fix, Verify" (IEEE S&P 2021): a
  man in the middle changes data the terminal trusts but no cryptogram covers — the Card
  Transaction Qualifiers (``9F6C``) to claim that the phone verified the cardholder
  (PIN bypass on Visa contactless), or the terminal's view of the CVM. Their fix is that
  the issuer checks the CVM outcome against what the card itself states in data the
  cryptogram authenticates. Here that is the CVR inside the IAD (``9F10``), which is part
  of :func:`poskit.emv.cryptogram.arqc_input`.
* Basin, Sasse, Toro-Pozo, "Card Brand Mixup Attack: Bypassing the PIN in non-Visa Cards
  by Using Them for Visa Transactions" (USENIX Security 2021): a Mastercard presented to
  the terminal under a Visa AID. The fix: the application's brand (RID of the AID) must
  match the PAN's brand (BIN).
* Unauthenticated data that changes the outcome: an AIP (``82``) different from the one
  the issuer personalised (ODA/CVM support switched off in transit), or a contactless
  transaction above the CVM-required limit that arrives with no cardholder verification
  the card confirms.

Each check returns :class:`AttackFinding` objects; the host maps any finding to a decline
(suggested response code ``59`` "suspected fraud"). The checks assume the ARQC was verified
(so the CVR can be trusted); run them after :func:`poskit.emv.issuer.verify_arqc`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Final

from poskit.cards.bins import lookup_bin
from poskit.emv.capk import RID_BRANDS
from poskit.emv.cryptogram import CryptogramInputError, Cvr, IssuerApplicationData

__all__ = [
    "SUGGESTED_RESPONSE_CODE",
    "AttackFinding",
    "check_brand",
    "check_cvm_consistency",
    "check_unauthenticated_data",
    "run_attack_checks",
]

SUGGESTED_RESPONSE_CODE: Final = "59"

_OFFLINE_PIN_METHODS = frozenset({0x01, 0x03, 0x04, 0x05})
_NO_CVM_METHODS = frozenset({0x1F, 0x3F})


@dataclasses.dataclass(frozen=True, slots=True)
class AttackFinding:
    """One inconsistency: ``code`` is stable (for response-code mapping and tests)."""

    code: str
    reason: str
    tag: str | None = None


def _cvr(icc: Mapping[str, bytes]) -> bytes | None:
    try:
        return IssuerApplicationData.parse(icc.get("9F10", b"")).cvr
    except CryptogramInputError:
        return None


def check_cvm_consistency(icc: Mapping[str, bytes]) -> list[AttackFinding]:
    """9F34 and 9F6C against the card's own CVR (Basin et al. 2021, PIN bypass)."""
    findings: list[AttackFinding] = []
    cvr = _cvr(icc)
    if cvr is None:
        return findings
    cdcvm = Cvr.is_set(cvr, Cvr.CDCVM_PERFORMED)
    results = icc.get("9F34")
    if results and len(results) == 3:
        method, outcome = results[0] & 0x3F, results[2]
        if method in _OFFLINE_PIN_METHODS and outcome == 0x02 and not cdcvm:
            if not Cvr.is_set(cvr, Cvr.OFFLINE_PIN_PERFORMED):
                findings.append(
                    AttackFinding(
                        "offline_pin_not_confirmed",
                        "CVM results claim a successful offline PIN the card did not perform",
                        "9F34",
                    )
                )
            elif Cvr.is_set(cvr, Cvr.OFFLINE_PIN_FAILED):
                findings.append(
                    AttackFinding(
                        "offline_pin_failed_on_card",
                        "CVM results claim a successful offline PIN the card says failed",
                        "9F34",
                    )
                )
    ctq = icc.get("9F6C")
    if ctq and len(ctq) > 1 and ctq[1] & 0x80 and not cdcvm:
        findings.append(
            AttackFinding(
                "cdcvm_not_confirmed",
                "CTQ claims consumer device verification the card's CVR does not confirm",
                "9F6C",
            )
        )
    return findings


def check_brand(pan: str, icc: Mapping[str, bytes]) -> list[AttackFinding]:
    """The AID's RID must belong to the PAN's card brand (card brand mix-up, USENIX 2021)."""
    aid = icc.get("84") or icc.get("4F") or icc.get("9F06")
    if not aid:
        return []
    rid = aid[:5].hex().upper()
    aid_brand = RID_BRANDS.get(rid)
    bin_brand = lookup_bin(pan).scheme
    if aid_brand is None or bin_brand == "unknown" or aid_brand == bin_brand:
        return []
    return [
        AttackFinding(
            "brand_mismatch", f"application {rid} is {aid_brand} but the PAN's BIN is {bin_brand}", "84"
        )
    ]


def check_unauthenticated_data(
    icc: Mapping[str, bytes],
    *,
    personalised_aip: bytes | None = None,
    cvm_required_limit: int | None = None,
    online_pin_present: bool | None = None,
) -> list[AttackFinding]:
    """Data no cryptogram or ODA protects that changed the outcome.

    ``personalised_aip``: the AIP the issuer put on the card for this interface.
    ``cvm_required_limit``: the contactless CVM limit (minor units) the host gave terminals.
    ``online_pin_present``: whether the request carried a PIN block (field 52).
    """
    findings: list[AttackFinding] = []
    aip = icc.get("82")
    if personalised_aip is not None and aip is not None and aip != personalised_aip:
        findings.append(
            AttackFinding(
                "aip_mismatch",
                f"AIP {aip.hex().upper()} differs from the personalised "
                f"{personalised_aip.hex().upper()} (modified in transit)",
                "82",
            )
        )
    results = icc.get("9F34")
    method = results[0] & 0x3F if results and len(results) == 3 else None
    if online_pin_present is False and method == 0x02:
        findings.append(
            AttackFinding(
                "online_pin_missing", "CVM results say online PIN but no PIN block was sent", "9F34"
            )
        )
    contactless = "9F66" in icc or "9F6C" in icc
    amount_raw = icc.get("9F02")
    if contactless and cvm_required_limit is not None and amount_raw:
        try:
            amount = int(amount_raw.hex())
        except ValueError:
            amount = 0
        cvr = _cvr(icc)
        confirmed_cdcvm = cvr is not None and Cvr.is_set(cvr, Cvr.CDCVM_PERFORMED)
        verified = (method == 0x02 and online_pin_present is not False) or confirmed_cdcvm or method == 0x1E
        if amount > cvm_required_limit and not verified:
            findings.append(
                AttackFinding(
                    "cvm_missing_above_limit",
                    f"contactless amount {amount} above the CVM limit {cvm_required_limit} "
                    "without a cardholder verification the card confirms",
                    "9F34",
                )
            )
    return findings


def run_attack_checks(
    *,
    pan: str,
    icc: Mapping[str, bytes],
    personalised_aip: bytes | None = None,
    cvm_required_limit: int | None = None,
    online_pin_present: bool | None = None,
) -> list[AttackFinding]:
    """All checks; an empty list means nothing suspicious was found."""
    return (
        check_cvm_consistency(icc)
        + check_brand(pan, icc)
        + check_unauthenticated_data(
            icc,
            personalised_aip=personalised_aip,
            cvm_required_limit=cvm_required_limit,
            online_pin_present=online_pin_present,
        )
    )
