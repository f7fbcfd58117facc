"""An outside ISO 8583 terminal for over-TCP tests: pyiso8583 + psec, no poskit code.

The client knows only what docs/protocol.md states and the dialect specs read as data
(``src/poskit/iso8583/dialects/<name>.json``, entries under ``fields``); its cryptography
is psec's. It never imports poskit, so a test that passes with it proves the wire contract.

API (kept stable; other over-TCP tests build on it):

* ``spec_for(dialect)`` -> pyiso8583 spec dict (``ascii87`` is pyiso8583's ``default_ascii``).
* ``OutsideTerminal(address, tid, mid, tmk, dialect="cups"|"ascii87", mac="cups-ecb"|"x919",
  scheme="004")``; ``await t.connect()`` / ``await t.close()``; or ``async with``.
* ``await t.send_raw(payload: bytes) -> bytes | None``: frame-less bytes as given, answer
  payload (None when the host closed the connection). ``await t.exchange(doc, mac=True)``:
  encode (MAC'd when ``mac``), frame, send, decode the answer doc.
* ``encode(doc, mac=...) -> bytes`` (payload without the length prefix, TPDU+header in cups)
  and ``decode(payload) -> dict``.
* ``await t.sign_on()``: 0800, installs the working keys from field 62 after checking KCVs.
* ``await t.sale(card_pan, track2, pin, amount_minor, currency="156", entry="02", expiry=None)
  -> (request, answer)``; ``sale_request(...)`` builds it (track2/pin None leave 35/52 out).
* ``chip_sale_request(pan, psn, track2_equivalent, icc, amount_minor)``; ``icc_data(imk, pan, psn,
  amount_minor=, atc=, unpredictable=, aid=)`` builds field 55 with the ARQC computed by ``arqc``.
* ``await t.reversal(sale_request, reason="98", **fields)`` (fields replace the reversal's
  content, e.g. another amount); ``reversal_request(sale)`` builds it, ``await t.echo()``,
  ``await t.sign_off()``,
  ``await t.settle(debit_minor, debit_count)``; ``t.verify_mac(payload)`` checks a response's MAC;
  ``t.forge_mac(payload)`` returns the payload with a wrong (well-formed) MAC.
* ``t.stan`` counts trace numbers; ``t.batch`` is the batch from the last 0810.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import iso8583
import psec.des
import psec.mac
import psec.pinblock
from iso8583.specs import default_ascii

__all__ = ["OutsideTerminal", "arqc", "cups_mac", "icc_data", "spec_for", "x919_mac"]

DIALECTS = Path(__file__).resolve().parents[2] / "src" / "poskit" / "iso8583" / "dialects"
SPEC_KEYS = ("data_enc", "len_enc", "len_type", "max_len", "desc", "len_count", "left_pad", "right_pad")
TPDU = bytes.fromhex("6000030000")
HEADER = bytes.fromhex("603200320072")
ASCII87_SCHEME_53 = {"001": "0000000000000000", "003": "0600000000000000", "004": "0610000000000000"}


def spec_for(dialect: str) -> dict[str, Any]:
    """The pyiso8583 spec of a dialect, built as docs/protocol.md §11 says."""
    if dialect == "ascii87":
        return default_ascii  # type: ignore[no-any-return]
    data = json.loads((DIALECTS / f"{dialect}.json").read_text())
    return {key: {k: v[k] for k in SPEC_KEYS if k in v} for key, v in data["fields"].items()}


def _des(key: bytes, block: bytes) -> bytes:
    return bytes(psec.des.encrypt_tdes_ecb(key * 2 if len(key) == 8 else key, block))


def cups_mac(mak: bytes, mab: bytes) -> bytes:
    """UnionPay POS MAC (protocol.md §7.1, `cups-ecb`): 8 ASCII hex characters."""
    padded = mab + bytes(-len(mab) % 8)
    r = bytes(8)
    for i in range(0, len(padded), 8):
        r = bytes(a ^ b for a, b in zip(r, padded[i : i + 8], strict=True))
    h = r.hex().upper().encode()
    e1 = _des(mak, h[:8])
    e2 = _des(mak, bytes(a ^ b for a, b in zip(e1, h[8:], strict=True)))
    return e2.hex().upper()[:8].encode()


def x919_mac(mak: bytes, mab: bytes) -> bytes:
    """ANSI X9.19 retail MAC, padding method 1 (protocol.md §7.1, `x919`)."""
    k2 = mak[8:] if len(mak) == 16 else mak
    return bytes(psec.mac.generate_retail_mac(mak[:8], k2, mab, padding=1))


def _tlv(tag: str, value: bytes) -> bytes:
    return bytes.fromhex(tag) + bytes([len(value)]) + value


def arqc(imk: bytes, pan: str, psn: str, atc: bytes, data: bytes) -> bytes:
    """An ARQC as the card computes it (protocol.md §3.12 / card book): EMV option A ICC master
    key from the issuer master key, common session key, ISO 9797-1 MAC algorithm 3 padding 2."""
    y = (pan + psn)[-16:].rjust(16, "0")
    left = bytes.fromhex(y)
    mk = bytes(psec.des.adjust_key_parity(_des(imk, left) + _des(imk, bytes(b ^ 0xFF for b in left))))
    diversifier = atc + b"\xf0" + bytes(5) + atc + b"\x0f" + bytes(5)
    sk = bytes(psec.des.adjust_key_parity(bytes(psec.des.encrypt_tdes_ecb(mk, diversifier))))
    return bytes(psec.mac.generate_retail_mac(sk[:8], sk[8:], data, padding=2))


def icc_data(
    imk: bytes,
    pan: str,
    psn: str,
    *,
    amount_minor: int,
    atc: int,
    unpredictable: bytes,
    aid: str,
    currency: str = "156",
) -> str:
    """Field 55 of an online chip sale (hex): the ARQC tags, the cryptogram computed over
    9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 82 9F36 and the CVR of 9F10 (IAD ``06 01 01 03 A0 00 00``)."""
    tags = {
        "9F02": f"{amount_minor:012d}",
        "9F03": "000000000000",
        "9F1A": "0156",
        "95": "0000000000",
        "5F2A": currency.rjust(4, "0"),
        "9A": datetime.now().strftime("%y%m%d"),
        "9C": "00",
        "9F37": unpredictable.hex(),
        "82": "7C00",
        "9F36": f"{atc:04X}",
    }
    iad = bytes.fromhex("06010103A00000")
    data = b"".join(bytes.fromhex(v) for v in tags.values()) + iad[3:7]
    cryptogram = arqc(imk, pan, psn, bytes.fromhex(tags["9F36"]), data)
    extra = {"9F26": cryptogram.hex(), "9F27": "80", "9F10": iad.hex(), "9F33": "E0F8C8", "9F34": "1F0302"}
    extra["84"] = aid  # the application selected: its RID must be the PAN's brand
    body = b"".join(_tlv(tag, bytes.fromhex(value)) for tag, value in {**tags, **extra}.items())
    return body.hex().upper()


class OutsideTerminal:
    """One third-party terminal on one TCP connection."""

    def __init__(
        self,
        address: str,
        tid: str,
        mid: str,
        tmk: bytes,
        *,
        dialect: str = "cups",
        mac: str = "cups-ecb",
        scheme: str = "004",
    ) -> None:
        self.address, self.tid, self.mid, self.tmk = address, tid, mid, tmk
        self.dialect, self.mac_method, self.scheme = dialect, mac, scheme
        self.spec = spec_for(dialect)
        self.mac_field = "64" if dialect == "cups" else "128"
        self.stan = 0
        self.batch = 1
        self.pik = self.mak = b""
        self.local_address: str | None = None  # e.g. "127.0.0.2": connect from another address
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    # --- transport -------------------------------------------------------------------------
    async def connect(self) -> OutsideTerminal:
        host, port = self.address.rsplit(":", 1)
        local = (self.local_address, 0) if self.local_address else None
        self._reader, self._writer = await asyncio.open_connection(host, int(port), local_addr=local)
        return self

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._writer = self._reader = None

    async def __aenter__(self) -> OutsideTerminal:
        return await self.connect()

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.close()

    async def send_raw(self, payload: bytes, *, framed: bool = False, timeout: float = 10) -> bytes | None:
        """Send payload (length prefix added unless ``framed``); the answer payload or None on close."""
        assert self._reader is not None and self._writer is not None, "connect() first"
        self._writer.write(payload if framed else len(payload).to_bytes(2, "big") + payload)
        await self._writer.drain()
        try:
            length = int.from_bytes(await asyncio.wait_for(self._reader.readexactly(2), timeout), "big")
            return await asyncio.wait_for(self._reader.readexactly(length), timeout)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None

    # --- messages --------------------------------------------------------------------------
    def _mac(self, mab: bytes) -> bytes:
        raw = cups_mac(self.mak, mab) if self.mac_method == "cups-ecb" else x919_mac(self.mak, mab)
        return raw if self.dialect == "cups" else raw.hex().upper().encode()

    def encode(self, doc: dict[str, str], *, mac: bool = False) -> bytes:
        """The payload for doc: cups gets TPDU+header in front; ``mac`` fills the MAC field."""
        size = 8 if self.dialect == "cups" else 16
        if mac:
            zero = "00" * 8 if self.dialect == "cups" else "0" * 16
            raw, _ = iso8583.encode({**doc, self.mac_field: zero}, self.spec)
            body = bytes(raw[:-size]) + self._mac(bytes(raw[:-size]))
        else:
            raw, _ = iso8583.encode(dict(doc), self.spec)
            body = bytes(raw)
        return TPDU + HEADER + body if self.dialect == "cups" else body

    def message_of(self, payload: bytes) -> bytes:
        return payload[11:] if self.dialect == "cups" else payload

    def decode(self, payload: bytes) -> dict[str, str]:
        doc, _ = iso8583.decode(self.message_of(payload), self.spec)
        return doc  # type: ignore[no-any-return]

    def verify_mac(self, payload: bytes) -> bool:
        """True when the answer's MAC field is the MAC of everything before it."""
        message = self.message_of(payload)
        size = 8 if self.dialect == "cups" else 16
        return self._mac(message[:-size]) == message[-size:]

    def forge_mac(self, payload: bytes) -> bytes:
        """payload with its MAC's last character/byte changed (still a well-formed field)."""
        last = payload[-1]
        if self.dialect == "cups":
            return payload[:-1] + bytes([last ^ 0x01])
        return payload[:-1] + (b"1" if last != ord("1") else b"2")

    async def exchange(self, doc: dict[str, str], *, mac: bool = True) -> dict[str, str]:
        """Send doc and decode the answer; an answer with a MAC field must verify."""
        payload = await self.send_raw(self.encode(doc, mac=mac))
        assert payload is not None, f"host closed the connection on {doc.get('t')}"
        answer = self.decode(payload)
        if self.mac_field in answer:
            assert self.verify_mac(payload), f"bad MAC on the {answer['t']} answer"
        return answer

    def next_stan(self) -> str:
        self.stan += 1
        return f"{self.stan:06d}"

    def _field60(self, code: str, network: str) -> str:
        return f"{code}{self.batch:06d}{network}"

    def _base(self, mti: str) -> dict[str, str]:
        return {"t": mti, "11": self.next_stan(), "41": self.tid, "42": self.mid}

    # --- transactions ----------------------------------------------------------------------
    async def sign_on(self) -> dict[str, str]:
        """0800; on 00 decrypts field 62 under the TMK, checks KCVs, installs PIK/MAK."""
        doc = self._base("0800")
        if self.dialect == "cups":
            doc.update({"60": self._field60("00", self.scheme), "63": "01 outside"})
        else:
            doc.update({"53": ASCII87_SCHEME_53[self.scheme], "60": self._field60("00", "000"), "70": "001"})
        answer = await self.exchange(doc, mac=False)
        if answer["39"] != "00":
            return answer
        raw = bytes.fromhex(answer["62"])
        self.batch = int(answer["60"][2:8]) if "60" in answer and len(answer["60"]) >= 8 else self.batch
        self.pik = self._unwrap(raw[0:16], raw[16:20])
        mak = self._unwrap(raw[20:36], raw[36:40], slot=True)
        self.mak = mak
        return answer

    def _unwrap(self, wrapped: bytes, kcv: bytes, *, slot: bool = False) -> bytes:
        if slot and wrapped[8:] == bytes(8):
            wrapped = wrapped[:8]
        key = bytes(psec.des.decrypt_tdes_ecb(self.tmk, wrapped))
        assert _des(key, bytes(8))[:4] == kcv, "working key KCV mismatch"
        return key

    def sale_request(
        self,
        pan: str,
        track2: str | None,
        pin: str | None,
        amount_minor: int,
        currency: str = "156",
        *,
        entry: str = "02",
        expiry: str | None = None,
    ) -> dict[str, str]:
        """A 0200 sale: entry ``02`` swipe or ``80`` fallback (cups also sets 60.5 = 2);
        ``track2`` None sends PAN (2) and ``expiry`` (14) without 35, ``pin`` None no 52."""
        doc = self._base("0200")
        doc.update(
            {
                "2": pan,
                "3": "000000",
                "4": f"{amount_minor:012d}",
                "22": entry + ("1" if pin is not None else "2"),
                "25": "00",
                "49": currency,
            }
        )
        if track2 is not None:
            doc["35"] = track2.replace("=", "D") if self.dialect == "cups" else track2
        if expiry is not None:
            doc["14"] = expiry
        if pin is not None:
            block = psec.pinblock.encode_pinblock_iso_0(pin, pan)
            pin_block = bytes(psec.des.encrypt_tdes_ecb(self.pik, block))
            doc.update({"26": "06", "52": pin_block.hex().upper(), "53": "2600000000000000"})
        if self.dialect == "cups":
            doc["60"] = self._field60("22", "000") + ("62" if entry == "80" else "")
        else:
            doc["60"] = self._field60("00", "000")
        return doc

    def chip_sale_request(
        self, pan: str, psn: str, track2_equivalent: str, icc: str, amount_minor: int, currency: str = "156"
    ) -> dict[str, str]:
        """A contact chip 0200 (22 = 052, no PIN): field 55 ``icc`` (hex), 23 the PAN sequence,
        35 the chip's track 2 equivalent."""
        doc = self.sale_request(pan, track2_equivalent, None, amount_minor, currency, entry="05")
        doc.update({"23": psn.rjust(3, "0"), "55": icc})
        return doc

    async def sale(
        self,
        pan: str,
        track2: str | None,
        pin: str | None,
        amount_minor: int,
        currency: str = "156",
        **options: str | None,
    ) -> tuple[dict[str, str], dict[str, str]]:
        request = self.sale_request(pan, track2, pin, amount_minor, currency, **options)
        return request, await self.exchange(request)

    def reversal_request(self, sale: dict[str, str], reason: str = "98") -> dict[str, str]:
        """0400 (cups, same trace as the sale) / 0420 (ascii87, own trace, field 90 names the sale)."""
        keep = {k: sale[k] for k in ("2", "3", "4", "25", "41", "42", "49", "60") if k in sale}
        keep["22"] = sale["22"][:2] + "2"
        if self.dialect == "cups":
            return {**keep, "t": "0400", "11": sale["11"], "39": reason}
        named = "0200" + sale["11"] + "0" * 32  # original MTI, trace; date, time, acquirer unknown
        return {**keep, "t": "0420", "11": self.next_stan(), "39": reason, "90": named}

    async def reversal(self, sale: dict[str, str], reason: str = "98", **fields: str) -> dict[str, str]:
        """Send the reversal of ``sale``; ``fields`` (e.g. ``{"4": ...}``) replace its content."""
        return await self.exchange({**self.reversal_request(sale, reason), **fields})

    async def sign_off(self) -> dict[str, str]:
        """0820 60.3=002 (cups) / 0800 70=002 (ascii87), no MAC."""
        doc = self._base("0820" if self.dialect == "cups" else "0800")
        if self.dialect == "cups":
            doc["60"] = self._field60("00", "002")
        else:
            doc.update({"60": self._field60("00", "000"), "70": "002"})
        return await self.exchange(doc, mac=False)

    async def echo(self) -> dict[str, str]:
        doc = self._base("0820" if self.dialect == "cups" else "0800")
        if self.dialect == "cups":
            doc["60"] = self._field60("00", "301")
        else:
            doc.update({"60": self._field60("00", "000"), "70": "301"})
        return await self.exchange(doc, mac=False)

    async def settle(
        self,
        debit_minor: int,
        debit_count: int,
        credit_minor: int = 0,
        credit_count: int = 0,
        currency: str = "156",
    ) -> dict[str, str]:
        """0500 with the domestic totals (protocol.md §3.6): cups field 48, ascii87 74/76/86/88."""
        doc = self._base("0500")
        doc.update({"49": currency, "63": "01 "})
        if self.dialect == "cups":
            block = f"{debit_minor:012d}{debit_count:03d}{credit_minor:012d}{credit_count:03d}0"
            doc.update({"48": block + "0" * 31, "60": self._field60("00", "201")})
        else:
            doc.update(
                {
                    "3": "920000",
                    "60": self._field60("00", "000"),
                    "74": f"{credit_count:010d}",
                    "76": f"{debit_count:010d}",
                    "86": f"{credit_minor:016d}",
                    "88": f"{debit_minor:016d}",
                }
            )
        return await self.exchange(doc)
