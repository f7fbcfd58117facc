"""EMV data of a chip or contactless transaction, for display with cardholder data masked.

The host keeps the non-sensitive chip data of a request in the transaction's stored
response under ``"emv"`` as ``{tag: hex value}``; anything marked sensitive in the EMV
tag dictionary (PAN, track 2 equivalent, cardholder name ...) is masked here even
if it was stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from poskit.emv.tags import is_sensitive, tag_name

__all__ = ["emv_rows"]

_HEX = re.compile(r"^[0-9A-Fa-f]*$")


def _mask(value: str) -> str:
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def emv_rows(txn: Mapping[str, Any]) -> list[dict[str, str]]:
    """``[{tag, name, value}]`` sorted by tag; sensitive values masked."""
    response = txn.get("response") or {}
    data = response.get("emv") if isinstance(response, Mapping) else None
    if not isinstance(data, Mapping):
        return []
    rows = []
    for tag, value in sorted(data.items()):
        text = str(value)
        if not _HEX.match(text) or not re.match(r"^[0-9A-Fa-f]{2,6}$", str(tag)):
            continue
        tag_up = str(tag).upper()
        shown = _mask(text.upper()) if is_sensitive(tag_up) else text.upper()
        rows.append({"tag": tag_up, "name": tag_name(tag_up), "value": shown})
    return rows
