"""A virtual EMV card: answers command APDUs as EMV Book 3 describes, with real cryptography.

:class:`VirtualCard` holds a personalised :class:`CardImage` (read-only, what the bureau
wrote) and a :class:`CardState` (what changes: ATC, PIN try counter, last online ATC,
blocked flags, a changed PIN), which can be saved and restored as JSON. The card keeps its
own keys, as a chip does: the ICC master keys derived from the test issuer master keys and
the ICC RSA key.

Commands (status words as cards return them):

=================================  =======================================================
SELECT (00 A4 04 00/02)            PSE, PPSE, AID with partial selection; 6A82, 6283 (blocked),
                                   6A81 (card blocked), 6A86 (bad P1/P2)
GET PROCESSING OPTIONS (80 A8)     format 1 or 2; contactless: qPBOC/qVSDC ARQC in format 2
READ RECORD (00 B2)                6A83 record not found, 6A86 bad P2
GET DATA (80 CA)                   9F36, 9F17, 9F13, 9F4F; 6A88 otherwise
VERIFY (00 20 00 80/88)            plaintext / enciphered PIN; 63Cx, 6983 blocked, 6984
GET CHALLENGE (00 84)              8-byte ICC unpredictable number
INTERNAL AUTHENTICATE (00 88)      DDA signature
GENERATE AC (80 AE)                first and second; ARQC/TC/AAC by card risk management; CDA
EXTERNAL AUTHENTICATE (00 82)      ARPC method 1; 6300 when wrong, 6985 out of sequence
script commands (84 ..)            PIN CHANGE/UNBLOCK, APPLICATION BLOCK/UNBLOCK, CARD BLOCK,
                                   PUT DATA, each with a secure messaging MAC (6982 if wrong)
=================================  =======================================================
Anything else: 6D00 (instruction) or 6E00 (class); bad lengths 6700.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import os
from collections.abc import Callable
from typing import Any, Literal

from poskit.cards.icc.personalise import AppImage, CardImage
from poskit.crypto.emv import derive_session_key, generate_ac, generate_arpc_method1
from poskit.emv.apdu import SW, Apdu, ApduError, ResponseApdu
from poskit.emv.certificates import cda_dynamic_data, sign_dynamic_data
from poskit.emv.cryptogram import (
    CID_AAC,
    CID_ARQC,
    CID_TC,
    IssuerApplicationData,
    arqc_input,
)
from poskit.emv.dol import DolError, split_dol_data
from poskit.emv.oda import transaction_data_hash
from poskit.emv.offline_pin import OfflinePinError, decipher_pin, parse_plaintext_pin_block
from poskit.emv.secure_messaging import (
    INS_APPLICATION_BLOCK,
    INS_APPLICATION_UNBLOCK,
    INS_CARD_BLOCK,
    INS_PIN_CHANGE_UNBLOCK,
    INS_PUT_DATA,
    check_script_mac,
    decipher_new_pin,
    sm_session_key,
)
from poskit.emv.tlv import Tlv, decode, encode, find, tlv
from poskit.emv.transport import IccTransportError

__all__ = ["ATR", "ApplicationState", "CardState", "Interface", "VirtualCard"]

#: Answer to reset: direct convention, T=0, historical bytes "POSKIT01".
ATR = bytes.fromhex("3B680000") + b"POSKIT01"

Interface = Literal["contact", "contactless"]
_OFFLINE_ARCS = frozenset({b"Y3", b"Z3"})


@dataclasses.dataclass
class ApplicationState:
    """The counters and flags one application keeps in its non-volatile memory."""

    atc: int = 0
    last_online_atc: int = 0
    pin_tries: int = 3
    blocked: bool = False
    pin: str | None = dataclasses.field(default=None, repr=False)  # set by a PIN change script
    last_online_not_completed: bool = False
    issuer_auth_failed_last: bool = False
    script_count: int = 0
    script_failed: bool = False


@dataclasses.dataclass
class CardState:
    """The card's whole mutable state; ``to_json``/``from_json`` keep it between sessions."""

    applications: dict[str, ApplicationState] = dataclasses.field(default_factory=dict)
    card_blocked: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "card_blocked": self.card_blocked,
            "applications": {aid: dataclasses.asdict(s) for aid, s in self.applications.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CardState:
        return cls(
            applications={
                aid: ApplicationState(**values) for aid, values in data.get("applications", {}).items()
            },
            card_blocked=bool(data.get("card_blocked", False)),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CardState:
        return cls.from_dict(json.loads(text))

    def __repr__(self) -> str:  # may hold a changed test PIN
        return f"CardState({len(self.applications)} application(s), blocked={self.card_blocked})"


class _Session:
    """Volatile state of one power-on (what a chip keeps in RAM)."""

    def __init__(self, interface: Interface) -> None:
        self.interface = interface
        self.selected: AppImage | Literal["PSE", "PPSE"] | None = None
        self.select_name = b""
        self.select_index = -1
        self.reset_transaction()

    def reset_transaction(self) -> None:
        """A new SELECT starts a new transaction: forget everything of the previous one."""
        self.gpo_done = False
        self.pdol_data = b""
        self.aip = b""
        self.challenge: bytes | None = None
        self.offline_pin_performed = False
        self.offline_pin_failed = False
        self.dda_performed = False
        self.cdcvm = False
        self.first_ac: str | None = None
        self.arqc = b""
        self.cdol1_data = b""
        self.second_ac_done = False
        self.issuer_auth: Literal["passed", "failed"] | None = None
        self.velocity_exceeded = False
        self.new_card = False


def _ok(data: bytes = b"") -> bytes:
    return data + b"\x90\x00"


def _sw(sw: int) -> bytes:
    return ResponseApdu.status(sw).to_bytes()


class VirtualCard:
    """A chip card answering APDUs; one :class:`_Session` per power-on."""

    def __init__(
        self, image: CardImage, state: CardState | None = None, *, random: Callable[[int], bytes] = os.urandom
    ) -> None:
        self.image = image
        self.state = state or CardState()
        for app in image.applications:
            self.state.applications.setdefault(
                app.profile.aid, ApplicationState(pin_tries=app.profile.pin_try_limit)
            )
        self._random = random
        self._session: _Session | None = None

    def __repr__(self) -> str:
        return f"VirtualCard({self.image.name!r})"

    # power ------------------------------------------------------------------------------
    def power_on(self, interface: Interface = "contact") -> bytes:
        wanted = "chip" if interface == "contact" else "contactless"
        if wanted not in self.image.interfaces:
            raise IccTransportError(f"card {self.image.name} has no {interface} interface")
        self._session = _Session(interface)
        return ATR

    def power_off(self) -> None:
        self._session = None

    # dispatcher -------------------------------------------------------------------------
    def transmit(self, raw: bytes) -> bytes:
        session = self._session
        if session is None:
            raise IccTransportError("card is not powered")
        try:
            apdu = Apdu.parse(raw)
        except ApduError:
            return _sw(SW.WRONG_LENGTH)
        handler = _HANDLERS.get((apdu.cla, apdu.ins))
        if handler is None:
            known_ins = {ins for _, ins in _HANDLERS}
            if apdu.cla not in (0x00, 0x80, 0x84, 0x04):
                return _sw(SW.CLA_NOT_SUPPORTED)
            return _sw(SW.CLA_NOT_SUPPORTED if apdu.ins in known_ins else SW.INS_NOT_SUPPORTED)
        return handler(self, session, apdu)

    # helpers ----------------------------------------------------------------------------
    def _app(self, session: _Session) -> AppImage | None:
        return session.selected if isinstance(session.selected, AppImage) else None

    def _app_state(self, app: AppImage) -> ApplicationState:
        return self.state.applications[app.profile.aid]

    def _apps_on(self, interface: Interface) -> list[AppImage]:
        return [
            a
            for a in self.image.applications
            if (a.profile.contact if interface == "contact" else a.profile.contactless)
        ]

    # SELECT -----------------------------------------------------------------------------
    def _select(self, session: _Session, apdu: Apdu) -> bytes:
        if apdu.p1 != 0x04 or apdu.p2 not in (0x00, 0x02):
            return _sw(SW.INCORRECT_P1_P2)
        name = apdu.data
        if not name:
            return _sw(SW.WRONG_LENGTH)
        if self.state.card_blocked:
            return _sw(SW.FUNCTION_NOT_SUPPORTED)
        session.reset_transaction()
        if name == b"1PAY.SYS.DDF01":
            if session.interface != "contact" or self.image.pse_fci is None:
                return _sw(SW.FILE_NOT_FOUND)
            session.selected = "PSE"
            return _ok(self.image.pse_fci)
        if name == b"2PAY.SYS.DDF01":
            if session.interface != "contactless":
                return _sw(SW.FILE_NOT_FOUND)
            session.selected = "PPSE"
            return _ok(self.image.ppse_fci)
        matches = [a for a in self._apps_on(session.interface) if a.aid.startswith(name)]
        following = apdu.p2 == 0x02 and name == session.select_name
        index = session.select_index + 1 if following else 0
        session.select_name = name
        session.select_index = index
        if index >= len(matches):
            session.selected = None
            return _sw(SW.FILE_NOT_FOUND)
        app = matches[index]
        session.selected = app
        fci = app.fci[session.interface]
        if self._app_state(app).blocked:
            return fci + b"\x62\x83"
        return _ok(fci)

    # GET PROCESSING OPTIONS ---------------------------------------------------------------
    def _gpo(self, session: _Session, apdu: Apdu) -> bytes:
        app = self._app(session)
        if apdu.p1 or apdu.p2:
            return _sw(SW.INCORRECT_P1_P2)
        if app is None or session.gpo_done:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        data = apdu.data
        if len(data) < 2 or data[0] != 0x83 or data[1] != len(data) - 2:
            return _sw(SW.WRONG_DATA)
        pdol_data = data[2:]
        pdol_tlv = find(decode(app.fci[session.interface]), "9F38")
        try:
            values = split_dol_data(pdol_tlv.value, pdol_data) if pdol_tlv else {}
        except DolError:
            return _sw(SW.WRONG_LENGTH)
        if not pdol_tlv and pdol_data:
            return _sw(SW.WRONG_LENGTH)
        state = self._app_state(app)
        if state.atc >= 0xFFFF:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        state.atc += 1
        session.gpo_done = True
        session.pdol_data = pdol_data
        profile = app.profile
        if session.interface == "contactless":
            return self._quick_gpo(session, app, values)
        aip = app.data["82"]
        session.aip = aip
        shown_aip = bytes.fromhex(profile.lie_aip) if profile.lie_aip else aip
        afl = app.data["94"]
        if profile.gpo_format == 1:
            return _ok(tlv("80", shown_aip + afl))
        return _ok(tlv("77", tlv("82", shown_aip) + tlv("94", afl)))

    def _quick_gpo(self, session: _Session, app: AppImage, values: dict[str, bytes]) -> bytes:
        """qPBOC/qVSDC: card risk management and the ARQC in the GPO response."""
        ttq = values.get("9F66", b"\x00\x00\x00\x00")
        if not ttq[0] & 0x20:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)  # reader cannot do qPBOC: use contact
        profile = app.profile
        state = self._app_state(app)
        aip = app.data["82-contactless"]
        session.aip = aip
        ctq = bytearray(bytes.fromhex(profile.ctq))
        if profile.consumer_device_cvm and ttq[1] & 0x40:
            session.cdcvm = True  # the phone verified its holder before the tap
            ctq[1] |= 0x80
        cid = CID_AAC if state.blocked else CID_ARQC
        session.first_ac = "AAC" if state.blocked else "ARQC"
        iad = self._iad(session, app, first=session.first_ac, second=None)
        tags = {**values, "82": aip, "9F36": state.atc.to_bytes(2, "big"), "9F10": iad}
        cryptogram = self._cryptogram(state, tags)
        session.arqc = cryptogram
        if cid == CID_ARQC:
            state.last_online_not_completed = True
        shown_ctq = bytes.fromhex(profile.lie_ctq) if profile.lie_ctq else bytes(ctq)
        body = (
            tlv("82", aip)
            + tlv("94", app.data["94-contactless"])
            + tlv("9F36", state.atc.to_bytes(2, "big"))
            + tlv("9F27", bytes([cid]))
            + tlv("9F26", cryptogram)
            + tlv("9F10", iad)
            + tlv("57", app.data["57"])
            + tlv("5F34", app.data["5F34"])
            + tlv("9F6C", shown_ctq)
        )
        return _ok(tlv("77", body))

    # READ RECORD / GET DATA ---------------------------------------------------------------
    def _read_record(self, session: _Session, apdu: Apdu) -> bytes:
        if apdu.p2 & 0x07 != 0x04 or apdu.p1 == 0:
            return _sw(SW.INCORRECT_P1_P2)
        key = (apdu.p2 >> 3, apdu.p1)
        if session.selected == "PSE":
            record = self.image.pse_records.get(key)
        elif isinstance(session.selected, AppImage):
            record = session.selected.records.get(key)
        else:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        if record is None:
            return _sw(SW.RECORD_NOT_FOUND)
        return _ok(record)

    def _get_data(self, session: _Session, apdu: Apdu) -> bytes:
        app = self._app(session)
        if app is None:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        state = self._app_state(app)
        tag = f"{apdu.p1:02X}{apdu.p2:02X}"
        values = {
            "9F36": state.atc.to_bytes(2, "big"),
            "9F17": bytes([state.pin_tries]),
            "9F13": state.last_online_atc.to_bytes(2, "big"),
            "9F4F": app.data["9F4F"],
        }
        if tag not in values:
            return _sw(SW.REFERENCED_DATA_NOT_FOUND)
        return _ok(tlv(tag, values[tag]))

    # VERIFY / GET CHALLENGE ---------------------------------------------------------------
    def _get_challenge(self, session: _Session, apdu: Apdu) -> bytes:
        if apdu.p1 or apdu.p2:
            return _sw(SW.INCORRECT_P1_P2)
        session.challenge = self._random(8)
        return _ok(session.challenge)

    def _verify(self, session: _Session, apdu: Apdu) -> bytes:
        app = self._app(session)
        if app is None or not session.gpo_done:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        if apdu.p1 != 0x00 or apdu.p2 not in (0x80, 0x88):
            return _sw(SW.INCORRECT_P1_P2)
        expected_length = 8 if apdu.p2 == 0x80 else self.image.icc_private_key.public.length
        if len(apdu.data) != expected_length:
            return _sw(SW.WRONG_LENGTH)
        state = self._app_state(app)
        if app.profile.verify_always_ok:  # rogue device: claims success, card never saw it
            return _ok()
        if state.pin_tries == 0:
            return _sw(SW.AUTH_METHOD_BLOCKED)
        try:
            if apdu.p2 == 0x80:
                pin = parse_plaintext_pin_block(apdu.data)
            else:
                challenge, session.challenge = session.challenge, None
                if challenge is None:
                    return _sw(SW.REFERENCED_DATA_INVALIDATED)
                pin = decipher_pin(apdu.data, self.image.icc_private_key, challenge)
        except OfflinePinError:
            return _sw(SW.REFERENCED_DATA_INVALIDATED if apdu.p2 == 0x88 else SW.WRONG_DATA)
        session.offline_pin_performed = True
        expected = state.pin or self.image.pin
        if hmac.compare_digest(pin.encode(), expected.encode()):
            state.pin_tries = app.profile.pin_try_limit
            session.offline_pin_failed = False
            return _ok()
        state.pin_tries -= 1
        session.offline_pin_failed = True
        return bytes([0x63, 0xC0 | state.pin_tries])

    # INTERNAL AUTHENTICATE ---------------------------------------------------------------
    def _internal_authenticate(self, session: _Session, apdu: Apdu) -> bytes:
        app = self._app(session)
        if app is None:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        if apdu.p1 or apdu.p2:
            return _sw(SW.INCORRECT_P1_P2)
        if len(apdu.data) < 4:
            return _sw(SW.WRONG_LENGTH)
        number = self._random(8)
        sdad = sign_dynamic_data(
            self.image.icc_private_key,
            icc_dynamic_data=bytes([len(number)]) + number,
            terminal_dynamic_data=apdu.data,
        )
        session.dda_performed = True
        return _ok(tlv("80", sdad))

    # GENERATE AC -------------------------------------------------------------------------
    def _iad(
        self,
        session: _Session,
        app: AppImage,
        *,
        first: str | None,
        second: str | None,
        unable_online: bool = False,
    ) -> bytes:
        state = self._app_state(app)
        code = {"AAC": 0, "TC": 1, "ARQC": 2}
        b1 = (code.get(first or "AAC", 0) << 4) | ((code[second] if second else 2) << 6)
        if session.issuer_auth == "failed":
            b1 |= 0x08
        if session.offline_pin_performed:
            b1 |= 0x04
        if session.offline_pin_failed:
            b1 |= 0x02
        if unable_online:
            b1 |= 0x01
        b2 = 0
        if state.last_online_not_completed:
            b2 |= 0x80
        if state.pin_tries == 0:
            b2 |= 0x40
        if session.velocity_exceeded:
            b2 |= 0x20
        if session.new_card:
            b2 |= 0x10
        if state.issuer_auth_failed_last:
            b2 |= 0x08
        if second is not None and session.issuer_auth is None and not unable_online:
            b2 |= 0x04
        b3 = min(state.script_count, 15) << 4
        if state.script_failed:
            b3 |= 0x08
        if session.dda_performed:
            b3 |= 0x02
        if session.cdcvm:
            b3 |= 0x01
        return IssuerApplicationData(bytes([b1 & 0xFF, b2, b3])).to_bytes()

    def _cryptogram(self, state: ApplicationState, tags: dict[str, bytes]) -> bytes:
        session_key = derive_session_key(self.image.mk_ac, state.atc.to_bytes(2, "big"))
        return generate_ac(session_key, arqc_input(tags))

    def _card_risk_management(self, session: _Session, app: AppImage, requested: str) -> str:
        state = self._app_state(app)
        profile = app.profile
        if state.blocked or requested == "AAC":
            return "AAC"
        offline = state.atc - state.last_online_atc
        session.new_card = state.last_online_atc == 0
        if profile.lower_offline_limit is not None and offline > profile.lower_offline_limit:
            session.velocity_exceeded = True
        if requested == "ARQC":
            return "ARQC"
        if (
            profile.lower_offline_limit is None
            or session.velocity_exceeded
            or session.new_card
            or state.pin_tries == 0
            or state.issuer_auth_failed_last
            or state.last_online_not_completed
            or session.offline_pin_failed
        ):
            return "ARQC"
        return "TC"

    def _generate_ac(self, session: _Session, apdu: Apdu) -> bytes:
        app = self._app(session)
        if app is None or not session.gpo_done or session.interface != "contact":
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        if apdu.p2 != 0x00 or apdu.p1 & 0x2F or apdu.p1 & 0xC0 == 0xC0:
            return _sw(SW.INCORRECT_P1_P2)
        requested = {0x00: "AAC", 0x40: "TC", 0x80: "ARQC"}[apdu.p1 & 0xC0]
        cda = bool(apdu.p1 & 0x10)
        if session.first_ac is None:
            return self._first_ac(session, app, apdu, requested, cda)
        if session.first_ac == "ARQC" and not session.second_ac_done:
            return self._second_ac(session, app, apdu, requested, cda)
        return _sw(SW.CONDITIONS_NOT_SATISFIED)

    def _ac_response(
        self,
        session: _Session,
        app: AppImage,
        cid: int,
        cryptogram: bytes,
        iad: bytes,
        *,
        cda: bool,
        dol_data: list[bytes],
        un: bytes,
    ) -> bytes:
        state = self._app_state(app)
        atc = state.atc.to_bytes(2, "big")
        if cda and cid != CID_AAC:
            items = [Tlv("9F27", bytes([cid])), Tlv("9F36", atc), Tlv("9F10", iad)]
            tdhc = transaction_data_hash(session.pdol_data, dol_data, items)
            number = self._random(8)
            sdad = sign_dynamic_data(
                self.image.icc_private_key,
                icc_dynamic_data=cda_dynamic_data(number, cid, cryptogram, tdhc),
                terminal_dynamic_data=un,
            )
            body = encode([items[0], items[1], Tlv("9F4B", sdad), items[2]])
            return _ok(tlv("77", body))
        if app.profile.ac_format == 1:
            return _ok(tlv("80", bytes([cid]) + atc + cryptogram + iad))
        body = tlv("9F27", bytes([cid])) + tlv("9F36", atc) + tlv("9F26", cryptogram) + tlv("9F10", iad)
        return _ok(tlv("77", body))

    def _first_ac(self, session: _Session, app: AppImage, apdu: Apdu, requested: str, cda: bool) -> bytes:
        try:
            values = split_dol_data(app.data["8C"], apdu.data)
        except DolError:
            return _sw(SW.WRONG_LENGTH)
        decision = self._card_risk_management(session, app, requested)
        state = self._app_state(app)
        session.first_ac = decision
        iad = self._iad(session, app, first=decision, second=None)
        tags = {**values, "82": session.aip, "9F36": state.atc.to_bytes(2, "big"), "9F10": iad}
        cryptogram = self._cryptogram(state, tags)
        session.cdol1_data = apdu.data
        cid = {"AAC": CID_AAC, "TC": CID_TC, "ARQC": CID_ARQC}[decision]
        if decision == "ARQC":
            session.arqc = cryptogram
            state.last_online_not_completed = True
        return self._ac_response(
            session, app, cid, cryptogram, iad, cda=cda, dol_data=[apdu.data], un=values.get("9F37", b"")
        )

    def _second_ac(self, session: _Session, app: AppImage, apdu: Apdu, requested: str, cda: bool) -> bytes:
        if requested == "ARQC":
            return _sw(SW.INCORRECT_P1_P2)
        try:
            values = split_dol_data(app.data["8D"], apdu.data)
        except DolError:
            return _sw(SW.WRONG_LENGTH)
        state = self._app_state(app)
        arc = values.get("8A", b"")
        unable_online = arc in _OFFLINE_ARCS
        arpc_data = values.get("91")
        if arpc_data and any(arpc_data) and session.issuer_auth is None:
            session.issuer_auth = "passed" if self._arpc_ok(state, session, arpc_data) else "failed"
        decision = "TC" if requested == "TC" else "AAC"
        if state.blocked or session.issuer_auth == "failed":
            decision = "AAC"
        if (
            app.profile.require_issuer_authentication
            and not unable_online
            and session.issuer_auth != "passed"
        ):
            decision = "AAC"
        session.second_ac_done = True
        if not unable_online:
            state.last_online_not_completed = False
            if session.issuer_auth == "failed":
                state.issuer_auth_failed_last = True
            else:
                state.issuer_auth_failed_last = False
                state.last_online_atc = state.atc
        iad = self._iad(session, app, first="ARQC", second=decision, unable_online=unable_online)
        tags = {**values, "82": session.aip, "9F36": state.atc.to_bytes(2, "big"), "9F10": iad}
        cryptogram = self._cryptogram(state, tags)
        cid = CID_TC if decision == "TC" else CID_AAC
        return self._ac_response(
            session,
            app,
            cid,
            cryptogram,
            iad,
            cda=cda,
            dol_data=[session.cdol1_data, apdu.data],
            un=values.get("9F37", b""),
        )

    def _arpc_ok(self, state: ApplicationState, session: _Session, data: bytes) -> bool:
        if len(data) != 10:
            return False
        session_key = derive_session_key(self.image.mk_ac, state.atc.to_bytes(2, "big"))
        expected = generate_arpc_method1(session_key, session.arqc, data[8:10])
        return hmac.compare_digest(expected, data[:8])

    # EXTERNAL AUTHENTICATE ---------------------------------------------------------------
    def _external_authenticate(self, session: _Session, apdu: Apdu) -> bytes:
        app = self._app(session)
        if apdu.p1 or apdu.p2:
            return _sw(SW.INCORRECT_P1_P2)
        if not 8 <= len(apdu.data) <= 16:
            return _sw(SW.WRONG_LENGTH)
        if (
            app is None
            or session.first_ac != "ARQC"
            or session.second_ac_done
            or session.issuer_auth is not None
        ):
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        ok = self._arpc_ok(self._app_state(app), session, apdu.data)
        session.issuer_auth = "passed" if ok else "failed"
        return _ok() if ok else _sw(SW.AUTHENTICATION_FAILED)

    # issuer script commands -------------------------------------------------------------
    def _script(self, session: _Session, apdu: Apdu) -> bytes:
        app = self._app(session)
        if app is None or session.first_ac != "ARQC" or not session.arqc:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        state = self._app_state(app)
        atc = state.atc.to_bytes(2, "big")
        data = check_script_mac(
            apdu, session_key=sm_session_key(self.image.mk_smi, atc), atc=atc, arqc=session.arqc
        )
        if data is None:
            state.script_failed = True
            return _sw(SW.SECURITY_STATUS_NOT_SATISFIED)
        result = self._script_action(app, state, apdu, data, atc)
        if result == SW.OK:
            state.script_count += 1
        else:
            state.script_failed = True
        return _sw(result)

    def _script_action(
        self, app: AppImage, state: ApplicationState, apdu: Apdu, data: bytes, atc: bytes
    ) -> int:
        if apdu.ins == INS_APPLICATION_BLOCK:
            state.blocked = True
        elif apdu.ins == INS_APPLICATION_UNBLOCK:
            state.blocked = False
        elif apdu.ins == INS_CARD_BLOCK:
            self.state.card_blocked = True
        elif apdu.ins == INS_PIN_CHANGE_UNBLOCK:
            if apdu.p1 != 0x00 or apdu.p2 not in (0x00, 0x02):
                return SW.INCORRECT_P1_P2
            if apdu.p2 == 0x02:
                if len(data) != 8:
                    return SW.WRONG_LENGTH
                try:
                    state.pin = decipher_new_pin(sm_session_key(self.image.mk_smc, atc), data)
                except OfflinePinError:
                    return SW.WRONG_DATA
            elif data:
                return SW.WRONG_LENGTH
            state.pin_tries = app.profile.pin_try_limit
        elif apdu.ins == INS_PUT_DATA:
            tag = f"{apdu.p1:02X}{apdu.p2:02X}"
            if tag not in ("9F14", "9F23") or len(data) != 1:
                return SW.REFERENCED_DATA_NOT_FOUND
            # Offline limits are personalised in a record; the simulator accepts and ignores.
        else:
            return SW.INS_NOT_SUPPORTED
        return SW.OK


_Handler = Callable[[VirtualCard, _Session, Apdu], bytes]
_HANDLERS: dict[tuple[int, int], _Handler] = {
    (0x00, 0xA4): VirtualCard._select,
    (0x80, 0xA8): VirtualCard._gpo,
    (0x00, 0xB2): VirtualCard._read_record,
    (0x80, 0xCA): VirtualCard._get_data,
    (0x00, 0x20): VirtualCard._verify,
    (0x00, 0x84): VirtualCard._get_challenge,
    (0x00, 0x88): VirtualCard._internal_authenticate,
    (0x80, 0xAE): VirtualCard._generate_ac,
    (0x00, 0x82): VirtualCard._external_authenticate,
    (0x84, INS_PIN_CHANGE_UNBLOCK): VirtualCard._script,
    (0x84, INS_APPLICATION_BLOCK): VirtualCard._script,
    (0x84, INS_APPLICATION_UNBLOCK): VirtualCard._script,
    (0x84, INS_CARD_BLOCK): VirtualCard._script,
    (0x84, INS_PUT_DATA): VirtualCard._script,
}
