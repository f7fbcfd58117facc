"""Terminal action analysis (EMV Book 3 §10.7): TVR against the issuer and terminal action codes.

Denial first (any bit in IAC-Denial or TAC-Denial set in the TVR: decline offline), then
online (IAC-Online/TAC-Online: go online when the terminal can), else approve offline; a
terminal that cannot go online uses the default codes instead. When the terminal was unable
to go online after asking for an ARQC, :func:`default_action_analysis` decides between TC
and AAC with the default codes (Book 3 §10.7, "unable to go online").
"""

from __future__ import annotations

from typing import Literal

__all__ = ["IAC_DEFAULTS", "default_action_analysis", "terminal_action_analysis"]

#: Values used when the card has no IAC (Book 3 §10.7): denial all zero, others all one.
IAC_DEFAULTS = {"denial": bytes(5), "online": b"\xff" * 5, "default": b"\xff" * 5}


def _hits(tvr: bytes, *codes: bytes) -> bool:
    return any(t & c for code in codes for t, c in zip(tvr, code, strict=True))


def terminal_action_analysis(
    tvr: bytes,
    *,
    iac_denial: bytes | None,
    iac_online: bytes | None,
    iac_default: bytes | None,
    tac_denial: bytes,
    tac_online: bytes,
    tac_default: bytes,
    online_capable: bool,
) -> Literal["AAC", "TC", "ARQC"]:
    """The cryptogram type to request in the first GENERATE AC."""
    if _hits(tvr, iac_denial or IAC_DEFAULTS["denial"], tac_denial):
        return "AAC"
    if online_capable:
        if _hits(tvr, iac_online or IAC_DEFAULTS["online"], tac_online):
            return "ARQC"
        return "TC"
    if _hits(tvr, iac_default or IAC_DEFAULTS["default"], tac_default):
        return "AAC"
    return "TC"


def default_action_analysis(
    tvr: bytes, *, iac_default: bytes | None, tac_default: bytes
) -> Literal["AAC", "TC"]:
    """After an ARQC the terminal could not send: TC unless the default codes say decline."""
    if _hits(tvr, iac_default or IAC_DEFAULTS["default"], tac_default):
        return "AAC"
    return "TC"
