"""One browser POS session: the terminal's main menu driving the real terminal engine.

The session is the POS application's idle loop: it shows the menu, takes a function
key, asks for what that function needs (amount, voucher number, supervisor
password ...) on the keypad, calls the engine, and shows the outcome. Menu items are
enabled from what the engine offers, so a function appears as soon as the engine has
it; the questions for a function's arguments come from the argument names
(``amount``, ``voucher``, ``rrn``, ``date_mmdd``, ``supervisor_password`` ...).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import inspect
import re
import traceback
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from poskit.logs import get_logger, scrub_text
from poskit.money import Amount, AmountError, CurrencyError
from poskit.terminal.devices.browser import BrowserKit
from poskit.terminal.engine import TerminalEngine

__all__ = ["MENU", "MenuItem", "ParamSpec", "PosSession", "param_spec", "safe_fields"]

_log = get_logger("poskit.portal.pos")


@dataclasses.dataclass(frozen=True)
class MenuItem:
    key: str
    label: str  # English message id
    label_zh: str  # the label a Chinese POS prints on its menu, for the .po file's reviewers
    method: str  # the engine method it calls


MENU: tuple[MenuItem, ...] = (
    MenuItem("sale", "Sale", "消费", "sale"),
    MenuItem("void", "Void", "消费撤销", "void"),
    MenuItem("refund", "Refund", "退货", "refund"),
    MenuItem("preauth", "Pre-authorisation", "预授权", "preauth"),
    MenuItem("preauth_void", "Pre-auth cancel", "预授权撤销", "preauth_void"),
    MenuItem("completion", "Pre-auth completion", "预授权完成", "completion"),
    MenuItem("completion_void", "Completion void", "预授权完成撤销", "completion_void"),
    MenuItem("balance", "Balance inquiry", "余额查询", "balance"),
    MenuItem("settle", "Settlement", "结算", "settle"),
    MenuItem("reprint", "Reprint", "重打印", "reprint"),
    MenuItem("query", "Transaction query", "交易查询", "query"),
    MenuItem("totals", "Batch totals", "交易汇总", "totals"),
    MenuItem("unsigned", "Sign later", "补签", "unsigned"),
    MenuItem("sign_in", "Operator sign-in", "操作员签到", "sign_in"),
    MenuItem("sign_out", "Operator sign-out", "操作员签退", "sign_out"),
    MenuItem("sign_on", "Sign on to host", "联机签到", "sign_on"),
    MenuItem("self_test", "Diagnostics", "自检", "self_test"),
)


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    prompt: str
    kind: str  # amount | digits | secret | text
    max_length: int = 32


_PARAMS: dict[str, ParamSpec] = {
    "amount": ParamSpec("Enter amount", "amount", 12),
    "voucher": ParamSpec("Voucher no.", "digits", 6),
    "supervisor_password": ParamSpec("Supervisor password", "secret", 12),
    "rrn": ParamSpec("Original reference no.", "digits", 12),
    "date_mmdd": ParamSpec("Original date (MMDD)", "digits", 4),
    "auth_code": ParamSpec("Authorisation code", "text", 6),
    "operator": ParamSpec("Operator no.", "digits", 2),
    "password": ParamSpec("Operator password", "secret", 12),
}
_PARAMS_BY_METHOD: dict[tuple[str, str], ParamSpec] = {
    ("void", "voucher"): ParamSpec("Original voucher no.", "digits", 6),
    ("preauth_void", "voucher"): ParamSpec("Original voucher no.", "digits", 6),
    ("completion_void", "voucher"): ParamSpec("Original voucher no.", "digits", 6),
    ("reprint", "voucher"): ParamSpec("Voucher no. (Enter for the last)", "digits", 6),
    ("preauth_void", "amount"): ParamSpec("Pre-authorised amount", "amount", 12),
    ("completion", "amount"): ParamSpec("Completion amount", "amount", 12),
}
#: Names of values that must never reach the page, whatever object carries them.
_SECRET_NAME = re.compile(
    r"(^|_)(pan|track\d?|pin|cvv|cvc|cvv2|key|keys|token|password|signature|icc|block|image)(_|$)"
)
_SKIPPED_PARAMS = frozenset({"self", "image_png_bytes", "image", "png"})
#: Arguments the engine asks for itself, at the right moment, when they are not given.
_ENGINE_ASKS = frozenset({"supervisor_password"})


def param_spec(method: str, name: str) -> ParamSpec:
    """What to ask the cashier for argument ``name`` of engine method ``method``."""
    spec = _PARAMS_BY_METHOD.get((method, name)) or _PARAMS.get(name)
    if spec is not None:
        return spec
    if "amount" in name:
        return ParamSpec("Enter amount", "amount", 12)
    kind = "secret" if "password" in name else "text"
    return ParamSpec(name.replace("_", " ").capitalize(), kind)


def safe_fields(
    data: Mapping[str, Any], *, _prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], str]]:
    """Displayable (name path, text) pairs of scalar values, one level of nesting, secrets left out."""
    rows: list[tuple[tuple[str, ...], str]] = []
    for name, value in data.items():
        if _SECRET_NAME.search(name) and "masked" not in name:
            continue
        if isinstance(value, Mapping):
            if not _prefix:  # totals and the like: {"terminal_totals": {"sale_count": 2, ...}}
                rows.extend(safe_fields(value, _prefix=(name,)))
            continue
        if name in _SIX_DIGITS and isinstance(value, int) and not isinstance(value, bool):
            text: str | None = f"{value:06d}"
        else:
            text = _text(value)
        if text is not None and text != "":
            rows.append(((*_prefix, name), text))
    return rows


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Amount):
        return f"{value.currency.code} {value.grouped()}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, datetime):  # the terminal's local time, its zone named
        return value.strftime("%Y-%m-%d %H:%M:%S %Z").rstrip()
    if isinstance(value, date):
        return value.isoformat()
    return None


class PosSession:
    """The menu loop of one page, over one terminal engine."""

    def __init__(
        self,
        engine: TerminalEngine,
        kit: BrowserKit,
        *,
        status_interval: float = 20.0,
    ) -> None:
        self.engine = engine
        self.kit = kit
        self.channel = kit.channel
        self.t = kit.channel.translate
        self.status_interval = status_interval
        self.network: bool | None = None

    # ------------------------------------------------------------------ menu
    def available(self, item: MenuItem) -> bool:
        if item.key == "unsigned":
            return callable(getattr(self.engine, "unsigned", None)) and callable(
                getattr(self.engine, "sign", None)
            )
        return callable(getattr(self.engine, item.method, None))

    def menu(self) -> list[dict[str, Any]]:
        return [
            {"key": item.key, "label": self.t(item.label), "enabled": self.available(item)} for item in MENU
        ]

    def status(self) -> dict[str, Any]:
        profile = self.engine.store.profile()
        power = self.kit.power
        return {
            "t": "status",
            "network": self.network,
            "battery": power.battery_percent(),
            "charging": power.charging(),
            "operator": profile.operator,
            "batch": f"{self.engine.store.batch_no():06d}",
            "signed_on": not profile.sign_on_required,
        }

    async def refresh_network(self) -> None:
        try:
            self.network = await self.engine.devices.link.probe(timeout=3.0)
        except OSError:
            self.network = False
        self.channel.send(self.status())

    async def watch_status(self) -> None:
        """Keep the network and battery indicators current while the page is open."""
        while not self.channel.closed:
            await asyncio.sleep(self.status_interval)
            await self.refresh_network()

    # ------------------------------------------------------------------ main loop
    async def run(self) -> None:
        profile = self.engine.profile
        self.channel.send(
            {
                "t": "hello",
                "terminal": profile.terminal_id,
                "merchant": profile.merchant_name,
                "merchant_en": profile.merchant_name_en,
                "currency": profile.currency,
                "menu": self.menu(),
            }
        )
        watcher = asyncio.create_task(self.watch_status())
        try:
            await self.power_on()
            while not self.channel.closed:
                self.channel.send({"t": "idle", "menu": self.menu()})
                command = await self.channel.next_command()
                if command is None:
                    break
                await self.perform(str(command.get("key", "")))
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def power_on(self) -> None:
        """Power-on self-test, shown like a POS boot screen."""
        self.channel.send({"t": "busy", "key": "self_test", "title": self.t("Self-test")})
        try:
            report = await self.engine.self_test()
        except Exception as exc:  # a broken store or key file must still leave a working menu
            _log.error("pos.self_test_failed", error_type=type(exc).__name__, where=_where(exc))
            self.channel.send(
                {
                    "t": "result",
                    "status": "failed",
                    "title": self.t("Self-test"),
                    "message": self.t("terminal error: the operation stopped") + f" ({type(exc).__name__})",
                }
            )
            return
        self.network = next((c.ok for c in report.checks if c.name == "network"), None)
        self.channel.send(self.status())
        if not report.ok:
            self.channel.send(self._self_test_result(report))

    async def perform(self, key: str) -> None:
        item = next((i for i in MENU if i.key == key), None)
        if item is None or not self.available(item):
            self.channel.send(
                {"t": "result", "status": "failed", "message": self.t("not available on this terminal yet")}
            )
            return
        self.channel.send({"t": "busy", "key": item.key, "title": self.t(item.label)})
        try:
            if item.key == "unsigned":
                await self.sign_later()
            else:
                await self.call(item)
        except Exception as exc:  # the POS must survive any engine error and say what happened
            # No exc_info: a rich traceback would print frame locals, and those can hold card data.
            _log.error(
                "pos.operation_failed",
                operation=item.key,
                error_type=type(exc).__name__,
                error=scrub_text(str(exc)),
                where=_where(exc),
            )
            self.channel.send(
                {
                    "t": "result",
                    "status": "failed",
                    "message": self.t("terminal error: the operation stopped") + f" ({type(exc).__name__})",
                }
            )
        finally:
            if self.kit.card_reader.entry is not None:
                await self.kit.card_reader.remove_card()
            self.channel.send(self.status())

    # ------------------------------------------------------------------ calling the engine
    async def call(self, item: MenuItem) -> None:
        method = getattr(self.engine, item.method)
        kwargs = await self.collect_arguments(item.method, method)
        if kwargs is None:
            self.channel.send({"t": "result", "status": "failed", "message": self.t("cancelled")})
            return
        result = method(**kwargs)
        if inspect.isawaitable(result):
            result = await result
        self.show_result(item, result)

    async def collect_arguments(self, name: str, method: Callable[..., Any]) -> dict[str, Any] | None:
        """Ask for each argument of ``method`` on the keypad; None when the cashier cancels."""
        kwargs: dict[str, Any] = {}
        for param in inspect.signature(method).parameters.values():
            if param.name in _SKIPPED_PARAMS or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if param.kind is param.KEYWORD_ONLY and param.default is not param.empty:
                continue  # options (timeouts, flags) keep their defaults
            if param.name in _ENGINE_ASKS and param.default is not param.empty:
                continue
            spec = param_spec(name, param.name)
            optional = param.default is not param.empty
            while True:
                value, text = await self._ask(spec, str(param.annotation), optional=optional)
                if text is None:
                    return None
                if value is not _INVALID:
                    break
                await self.kit.display.show("Invalid entry: try again", level="error")
            if value is not _DEFAULT:
                kwargs[param.name] = value
        return kwargs

    async def _ask(self, spec: ParamSpec, annotation: str, *, optional: bool) -> tuple[Any, str | None]:
        keypad = self.kit.keypad
        currency = self.engine.profile.currency
        if spec.kind == "amount" or "Amount" in annotation:
            text = await keypad.read_amount(spec.prompt, currency=currency)
            if text is None:
                return None, None
            try:
                amount = Amount.parse(text, currency)
            except (AmountError, CurrencyError, ValueError):
                return _INVALID, text
            return (amount if amount.minor > 0 else _INVALID), text
        if spec.kind in ("digits", "secret"):
            text = await keypad.read_digits(
                spec.prompt, max_length=spec.max_length, secret=spec.kind == "secret"
            )
        else:
            text = await keypad.read_text(spec.prompt, max_length=spec.max_length)
        if text is None:
            return None, None
        if text == "":
            return (_DEFAULT if optional else _INVALID), text
        if re.search(r"\bint\b", annotation) and "str" not in annotation:
            return (int(text) if text.isdigit() else _INVALID), text
        return text, text

    # ------------------------------------------------------------------ results
    def show_result(self, item: MenuItem, result: Any) -> None:
        self.channel.send(self.result_event(item, result))

    def result_event(self, item: MenuItem, result: Any) -> dict[str, Any]:
        title = self.t(item.label)
        if result is None:
            if item.key == "query":
                return {"t": "result", "status": "failed", "title": title, "message": self.t("nothing found")}
            return {"t": "result", "status": "approved", "title": title, "message": self.t("done")}
        if hasattr(result, "checks") and hasattr(result, "ok"):
            return self._self_test_result(result)
        if isinstance(result, list | tuple):
            rows = [(self._record_title(r), self._record_line(r)) for r in result]
            found = self.t("nothing found") if not rows else f"{len(rows)}"
            return {"t": "result", "status": "approved", "title": title, "message": found, "rows": rows}
        status = getattr(result, "status", None)
        message = getattr(result, "message", None)
        data: dict[str, Any]
        if hasattr(result, "to_json"):
            data = dict(result.to_json())
        elif dataclasses.is_dataclass(result) and not isinstance(result, type):
            data = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
        elif isinstance(result, Mapping):
            data = dict(result)
        else:
            return {"t": "result", "status": "approved", "title": title, "message": self.t(str(result))}
        for skip in _HIDDEN_RESULT_FIELDS:
            data.pop(skip, None)
        if isinstance(data.get("currency"), str) and isinstance(data.get("amount"), str | int):
            currency = data.pop("currency")
            data["amount"] = f"{currency} {_grouped(data['amount'], currency)}"
        data.pop("id", None)
        if isinstance(status, str) and status not in ("approved", "declined", "failed"):
            status = "approved" if status in ("ok", "done", "balanced", "settled") else "failed"
        if status is None:
            status = "approved" if data.get("approved", True) else "failed"
        rows = [(self._label(path), self.t(v) if v in ("yes", "no") else v) for path, v in safe_fields(data)]
        text = self.t(str(message)) if message else self.t(item.label)
        if getattr(result, "reversal_pending", False):
            text += " · " + self.t("a reversal is pending")
        return {"t": "result", "status": status, "title": title, "message": text, "rows": rows}

    def _label(self, path: tuple[str, ...]) -> str:
        return " · ".join(self.t(_LABELS.get(part, part.replace("_", " "))) for part in path)

    def _self_test_result(self, report: Any) -> dict[str, Any]:
        rows = [
            (
                self.t(c.name),
                ("✓ " if c.ok else "✗ ") + self.t(c.message) + (f" — {self.t(c.advice)}" if c.advice else ""),
            )
            for c in report.checks
        ]
        return {
            "t": "result",
            "status": "approved" if report.ok else "failed",
            "title": self.t("Diagnostics"),
            "message": self.t("all checks passed") if report.ok else self.t("some checks failed"),
            "rows": rows,
        }

    def _record_title(self, record: Any) -> str:
        stan = getattr(record, "stan", None)
        return f"{self.t('Voucher')} {stan:06d}" if isinstance(stan, int) else self.t("Transaction")

    def _record_line(self, record: Any) -> str:
        amount = getattr(record, "amount", None)
        currency = getattr(record, "currency", self.engine.profile.currency)
        parts = [
            str(getattr(record, "txn_type", "")),
            Amount.of(amount, currency).grouped() if isinstance(amount, int) else "",
            str(getattr(record, "pan_masked", "") or ""),
        ]
        return " ".join(p for p in parts if p)

    # ------------------------------------------------------------------ signatures
    async def capture_signature(self, record: Any) -> bool:
        """Ask for the signature of a batch record and hand it to the engine; False when skipped."""
        voucher = int(record.stan)
        currency = str(getattr(record, "currency", self.engine.profile.currency))
        context: dict[str, Any] = {
            "voucher": f"{voucher:06d}",
            "amount": f"{currency} {Amount.of(int(record.amount), currency).grouped()}",
            "card": str(getattr(record, "pan_masked", "") or ""),
        }
        code = _feature_code(record)
        if code:
            context["feature_code"] = code
        image = await self.kit.signature_pad.capture("Cardholder signature", **context)
        if image is None:
            self.channel.send(
                {
                    "t": "result",
                    "status": "failed",
                    "title": self.t("Sign later"),
                    "message": self.t("no signature: the transaction stays unsigned"),
                }
            )
            return False
        outcome = await self.engine.sign(voucher, image)
        self.show_result(MenuItem("sign", "Sign later", "补签", "sign"), outcome)
        return True

    async def sign_later(self) -> None:
        """补签: pick an unsigned transaction of the batch and sign it now."""
        records = list(self.engine.unsigned())
        if not records:
            self.channel.send(
                {
                    "t": "result",
                    "status": "approved",
                    "title": self.t("Sign later"),
                    "message": self.t("no unsigned transactions"),
                }
            )
            return
        options = [f"{self._record_title(r)}  {self._record_line(r)}" for r in records]
        choice = await self.kit.keypad.choose("Choose the transaction to sign", options)
        if choice is None:
            self.channel.send({"t": "result", "status": "failed", "message": self.t("cancelled")})
            return
        await self.capture_signature(records[choice])


def _grouped(amount: str | int, currency: str) -> str:
    """1234.5 / "1234.50" / 123450 (minor units) -> "1,234.50"; text that is not an amount as it is."""
    try:
        value = Amount.of(amount, currency) if isinstance(amount, int) else Amount.parse(amount, currency)
    except (AmountError, CurrencyError, ValueError):
        return str(amount)
    return value.grouped()


def _where(exc: BaseException) -> str:
    """file:line of the innermost frames of a traceback (no locals, no values)."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    return " < ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames))


def _feature_code(record: Any) -> str | None:
    """The UnionPay signature feature code (特征码) shown on the pad, when the engine can make it."""
    if not getattr(record, "rrn", None):
        return None
    try:
        module = importlib.import_module("poskit.terminal.signature.feature_code")
    except ImportError:
        return None
    code = module.feature_code(record.settlement_date or "0000", record.rrn)
    return str(code)


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_INVALID: Any = _Marker("<invalid>")
_DEFAULT: Any = _Marker("<default>")

#: Fields of an outcome that are shown elsewhere on the screen, or are chip internals for the receipt.
_HIDDEN_RESULT_FIELDS = (
    "receipt",
    "status",
    "message",
    "approved",
    "extra",
    "terminal",
    "reversal_pending",
    "record_id",
    "tvr",
    "tsi",
    "oda",
    "cvm",
    "application_cryptogram",
    "cryptogram_type",
    "application_label",
    "aid",
)

_SIX_DIGITS = frozenset({"stan", "batch_no", "original_stan", "voucher", "batch"})

_LABELS = {
    "amount": "Amount",
    "batch_no": "Batch",
    "txn_type": "Type",
    "card_organisation": "Card organisation",
    "foreign_card": "Foreign card",
    "settlement_date": "Settlement date",
    "local_datetime": "Date/time",
    "operator": "Operator",
    "settled": "Settled",
    "transactions": "Transactions",
    "balance": "Balance",
    "balanced": "Balanced",
    "next_batch": "Next batch",
    "signed_off": "Signed off",
    "signature_required": "Signature required",
    "signature_uploaded": "Signature uploaded",
    "original_stan": "Original voucher",
    "totals": "Totals",
    "terminal_totals": "Terminal totals",
    "host_totals": "Host totals",
    "uploaded": "Uploaded",
    "role": "Role",
    "currency": "Currency",
    "masked_pan": "Card",
    "pan_masked": "Card",
    "stan": "Voucher",
    "batch": "Batch",
    "rrn": "Reference no.",
    "auth_code": "Auth code",
    "response_code": "Response code",
    "entry_mode": "Entry",
    "record_id": "Record",
}
