"""The terminal's functions as flows: inputs on screens, the engine in a worker, the result.

Each flow runs inside one Textual worker, so the engine's network exchanges never
block the screen, and the engine's questions (confirm, card, PIN) are screens the
worker awaits. Functions the engine does not offer yet are reported as such.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any

from poskit.iso8583.response_codes import RESPONSE_CODES, TerminalAction, terminal_action
from poskit.money import Amount
from poskit.terminal.engine import NETWORK_DOWN, NO_OPERATOR, TxnOutcome
from poskit.terminal.receipt import TXN_NAMES, Receipt
from poskit.terminal.store import BatchRecord
from poskit.terminal.support import (
    TICKET_CATEGORIES,
    SupportContact,
    SupportUnavailableError,
    TicketRequest,
)
from poskit.terminal.ui.admin_screens import DiagnosticsScreen, SettingsScreen
from poskit.terminal.ui.screens import AmountScreen, ChoiceScreen, ConfirmScreen, TextEntryScreen
from poskit.terminal.ui.support_screen import SupportScreen
from poskit.terminal.ui.txn_screens import BusyScreen, ResultScreen, ResultView, SignatureScreen

if TYPE_CHECKING:
    from poskit.terminal.ui.app import PosApp

__all__ = ["MISSING", "Flows", "outcome_view", "record_view"]


class _Missing:
    """The engine has no such function (yet)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()

_HIDDEN_EXTRAS = frozenset({"record_id", "kcv", "report", "receipt"})
#: Chip data for engineers (``poskit pay --json``, the slip): not what a cashier reads on a result.
_CHIP_EXTRAS = frozenset(
    {"cvm", "tvr", "tsi", "aid", "application_cryptogram", "cryptogram_type", "oda", "application_label"}
)

#: What the cashier does next, by what the answer asks of the terminal (message ids).
ADVICE: dict[TerminalAction, str] = {
    TerminalAction.DECLINED: "Ask for another card or another way to pay",
    TerminalAction.CALL_ISSUER: "Ask the cardholder to call the bank on the back of the card",
    TerminalAction.PICK_UP: "Keep the card if it is safe to do so, and call the acquirer's support",
    TerminalAction.REENTER_PIN: "Ask the cardholder to try again with the right PIN",
    TerminalAction.USE_CHIP: "Insert the card into the chip reader and try again",
    TerminalAction.RETRY: "Wait a moment, then take the payment again",
    TerminalAction.SIGN_ON: "Sign the terminal on again (Settings, Sign on), then take the payment again",
    TerminalAction.CONTACT_ACQUIRER: "Call the acquirer's support (menu S shows the number)",
}
#: Codes whose advice is more precise than their action's.
CODE_ADVICE: dict[str, str] = {
    "51": "Ask for a smaller amount, another card or another way to pay",
    "54": "The card has expired: ask for another card",
    "61": "Ask for a smaller amount, another card or another way to pay",
    "65": "Ask for another card or another way to pay",
    "75": "The PIN is blocked: ask for another card; the cardholder must call the bank",
    "Z1": "The card itself declined: ask for another card or another way to pay",
    "Z3": "The card itself declined: ask for another card or another way to pay",
}


def decline_advice(code: str) -> str:
    """What to do after a decline with ``code`` (a message id)."""
    return CODE_ADVICE.get(code.upper()) or ADVICE.get(terminal_action(code), ADVICE[TerminalAction.DECLINED])


def _entry_suffix(entry: str | None) -> str:
    return {"swipe": "S", "chip": "I", "tap": "C", "manual": "M", "fallback": "S"}.get(entry or "", "")


#: Operator and terminal housekeeping: their success is "done", never "transaction approved".
_NOT_A_PAYMENT = frozenset({"sign_in", "sign_out", "sign_on", "sign_off"})


def outcome_view(app: PosApp, outcome: TxnOutcome, printed: list[tuple[str, Receipt]]) -> ResultView:
    """The result screen's content for an engine outcome, in the app's language."""
    t = app.text
    code = outcome.response_code
    if outcome.status == "declined" and code:
        # The reason once, then what to do; codes outside the table (Z1: the card) keep the engine's words.
        known = code.upper() in RESPONSE_CODES
        reason = t.response(code) if known else t.engine(outcome.message)
        reason = reason.replace(f" ({code})", "").replace(f"（{code}）", "")
        message = t("Declined: {reason}", reason=reason) + f" ({code})\n" + t(decline_advice(code))
    else:
        message = outcome.message
    details: list[tuple[str, str]] = []
    if outcome.amount is not None and (outcome.amount.minor or outcome.txn_type == "balance"):
        details.append(("Amount", t.amount(outcome.amount)))
    if outcome.masked_pan:
        suffix = _entry_suffix(outcome.entry_mode)
        details.append(("Card", outcome.masked_pan + (f" /{suffix}" if suffix else "")))
    if outcome.stan:
        details.append(("Voucher", f"{outcome.stan:06d}"))
    if outcome.batch:
        details.append(("Batch", f"{outcome.batch:06d}"))
    if outcome.rrn:
        details.append(("Reference", outcome.rrn))
    if outcome.auth_code:
        details.append(("Auth code", outcome.auth_code))
    if code:
        details.append(("Response", f"{code} {t.response(code)}"))
    has_report = isinstance(outcome.extra.get("report"), list)
    for key, value in outcome.extra.items():
        if key in _HIDDEN_EXTRAS or key in _CHIP_EXTRAS or value is None:
            continue
        if isinstance(value, dict) and has_report:
            continue  # the totals are in the report shown below
        if isinstance(value, dict):
            details += [(f"{key} {k}", str(v)) for k, v in value.items() if not isinstance(v, dict | list)]
        elif not isinstance(value, list):
            details.append((key, str(value)))
    receipt = outcome.receipt
    if receipt is None and printed:
        receipt = printed[0][1]
    status = outcome.status
    if status == "approved" and outcome.txn_type in _NOT_A_PAYMENT:
        status = "info"  # done, not 交易成功: no money moved
    return ResultView(
        status=status,
        message=message,
        details=details,
        receipt=receipt,
        can_retry=outcome.status == "failed",
    )


def record_view(app: PosApp, record: BatchRecord) -> ResultView:
    """A stored transaction (query by voucher number)."""
    t = app.text
    zh, en = TXN_NAMES.get(record.txn_type.upper(), (record.txn_type, record.txn_type))
    details = [
        ("Type", zh if t.chinese else en),
        ("Amount", t.amount(Amount.of(record.amount, record.currency))),
        (
            "Card",
            (record.pan_masked or "-")
            + (f" /{_entry_suffix(record.entry_mode)}" if record.entry_mode else ""),
        ),
        ("Voucher", f"{record.stan:06d}"),
        ("Batch", f"{record.batch_no:06d}"),
        ("Reference", record.rrn or "-"),
        ("Auth code", record.auth_code or "-"),
        ("Date/time", f"{record.local_datetime:%Y-%m-%d %H:%M:%S %Z}".rstrip()),
        ("Status", t(record.status)),
        (
            "Signature",
            t("signed") if record.signature else (t("missing") if record.signature_required else "-"),
        ),
        ("Settled", t("yes") if record.settled else t("no")),
    ]
    receipt = Receipt.from_json(record.receipt) if record.receipt else None
    return ResultView("info", t("Voucher {voucher} found", voucher=f"{record.stan:06d}"), details, receipt)


class Flows:
    """One coroutine per menu function; the app runs each in a worker."""

    def __init__(self, app: PosApp) -> None:
        self.app = app

    @property
    def engine(self) -> Any:
        return self.app.engine

    async def run(self, action: str) -> None:
        handler = getattr(self, f"flow_{action}", None)
        if handler is None:
            await self._show(ResultView("failed", self.app.text("Unknown function: {name}", name=action)))
            return
        try:
            await handler()
        except Exception as exc:  # the counter must never be left on a dead screen
            self.app.log.error(f"flow {action} failed: {exc!r}")
            await self._show(
                ResultView("failed", self.app.text("Unexpected error: {error}", error=exc.__class__.__name__))
            )

    # ------------------------------------------------------------ helpers
    async def _show(self, view: ResultView) -> str:
        return await self.app.ask(ResultScreen(view))

    async def _amount(self, title: str) -> Amount | None:
        """The amount of a payment, once the terminal knows an operator is signed in to take it."""
        if self.engine.profile.operator is None:
            await self._show(ResultView("failed", NO_OPERATOR))
            return None
        return await self.app.ask(AmountScreen(self.engine.profile.currency, title=title))

    async def _text(
        self,
        prompt: str,
        *,
        title: str,
        secret: bool = False,
        digits: bool = False,
        exact: int | None = None,
        max_length: int = 32,
    ) -> str | None:
        return await self.app.ask(
            TextEntryScreen(
                prompt,
                secret=secret,
                digits_only=digits,
                exact_length=exact,
                max_length=max_length,
                title=title,
            )
        )

    async def _voucher(self, title: str, prompt: str = "Original voucher number") -> int | None:
        text = await self._text(prompt, title=title, digits=True, max_length=6)
        return int(text) if text else None

    async def _supervisor(self, title: str) -> str | None:
        return await self._text("Supervisor password", title=title, secret=True, max_length=12)

    async def _call(self, title: str, method: str, *args: Any) -> Any:
        """Run one engine function behind a progress screen; MISSING if the engine lacks it."""
        func = getattr(self.engine, method, None)
        if func is None:
            return MISSING
        busy = BusyScreen(title)
        await self.app.push_screen(busy)
        self.app.printer.take()
        try:
            result = func(*args)
            if inspect.isawaitable(result):
                result = await result
        finally:
            if busy in self.app.screen_stack:
                while self.app.screen is not busy:
                    await self.app.pop_screen()
                await self.app.pop_screen()
        return result

    def _feature_code(self, voucher: int) -> str:
        """特征码 shown on the pad so the cardholder can match it on the slip (reference §1.12)."""
        record = self.engine.store.find_voucher(voucher)
        if record is None or not record.rrn or not record.settlement_date:
            return ""
        try:
            from poskit.terminal.signature.feature_code import feature_code
        except ImportError:  # an engine without e-signature support
            return ""
        try:
            return str(feature_code(record.settlement_date, record.rrn))
        except ValueError:
            return ""

    async def _not_available(self, title: str) -> None:
        await self._show(
            ResultView(
                "failed",
                self.app.text(
                    "{function} is not available in this software version", function=self.app.text(title)
                ),
            )
        )

    async def _transaction(self, title: str, method: str, *args: Any) -> TxnOutcome | None:
        """Run an engine transaction, capture a signature when needed, show the result; R retries."""
        while True:
            outcome = await self._call(title, method, *args)
            if outcome is MISSING:
                await self._not_available(title)
                return None
            if not isinstance(outcome, TxnOutcome):  # an engine function with another kind of answer
                await self._show(ResultView("info", str(outcome)))
                return None
            self.app.note_outcome(outcome)
            printed = self.app.printer.take()
            view = outcome_view(self.app, outcome, printed)
            reports = self.app.printer.take_reports()
            report = outcome.extra.get("report")
            if reports:
                view.report = reports[-1][1]
            elif isinstance(report, list):
                view.report = [str(line) for line in report]
            receipt = view.receipt
            if (
                outcome.approved
                and method != "sign"
                and receipt is not None
                and receipt.signature_required
                and not receipt.signature_image
                and not receipt.reprint
            ):
                view = await self._signature(outcome, view)
            if await self._show(view) != "retry":
                return outcome

    async def _signature(self, outcome: TxnOutcome, view: ResultView) -> ResultView:
        receipt = view.receipt
        assert receipt is not None
        if not hasattr(self.engine, "sign") or outcome.stan is None:
            view.message += "\n" + self.app.text("Have the cardholder sign the merchant copy")
            return view
        png = await self.app.ask(
            SignatureScreen(
                amount=f"{receipt.currency} {receipt.amount}",
                feature_code=receipt.feature_code or self._feature_code(outcome.stan),
            )
        )
        if png is None:
            view.message += "\n" + self.app.text("Not signed: listed under Unsigned slips for 补签")
            return view
        try:
            signed = await self._call("Cardholder signature", "sign", outcome.stan, png)
        except Exception as exc:  # the payment stands; only the signature is missing
            self.app.log.error(f"sign failed: {exc!r}")
            view.message += "\n" + self.app.text(
                "The signature could not be stored ({error}): the slip is listed under Unsigned slips",
                error=exc.__class__.__name__,
            )
            return view
        self.app.printer.take()
        if isinstance(signed, TxnOutcome):
            if signed.receipt is not None:
                view.receipt = signed.receipt
            elif signed.approved:
                view.receipt = receipt.with_signature(png)
            view.message += "\n" + self.app.text.engine(signed.message)
        return view

    # ------------------------------------------------------------ the menu's functions
    async def flow_sale(self) -> None:
        amount = await self._amount("Sale")
        if amount is not None:
            await self._transaction("Sale", "sale", amount)

    async def flow_void(self) -> None:
        voucher = await self._voucher("Void")
        if voucher is None:
            return
        password = await self._supervisor("Void")
        if password is not None:
            await self._transaction("Void", "void", voucher, password)

    async def flow_refund(self) -> None:
        amount = await self._amount("Refund")
        if amount is None:
            return
        rrn = await self._text(
            "Original reference number (12 characters)", title="Refund", exact=12, max_length=12
        )
        if rrn is None:
            return
        date = await self._text("Original date (MMDD)", title="Refund", digits=True, exact=4, max_length=4)
        if date is None:
            return
        password = await self._supervisor("Refund")
        if password is not None:
            await self._transaction("Refund", "refund", amount, rrn, date, password)

    async def flow_preauth(self) -> None:
        options = ["Pre-authorization", "Pre-auth cancel", "Completion", "Completion void"]
        choice = await self.app.ask(
            ChoiceScreen("Which pre-authorization function?", options, title="Pre-authorization")
        )
        if choice is None:
            return
        title = options[choice]
        if choice == 3:
            voucher = await self._voucher(title)
            password = await self._supervisor(title) if voucher is not None else None
            if voucher is not None and password is not None:
                await self._transaction(title, "completion_void", voucher, password)
            return
        amount = await self._amount(title)
        if amount is None:
            return
        if choice == 0:
            await self._transaction(title, "preauth", amount)
            return
        auth = await self._text("Authorization code", title=title, max_length=6)
        date = (
            await self._text("Pre-authorization date (MMDD)", title=title, digits=True, exact=4, max_length=4)
            if auth
            else None
        )
        if auth is None or date is None:
            return
        if choice == 2:
            await self._transaction(title, "completion", amount, auth, date)
            return
        password = await self._supervisor(title)
        if password is not None:
            await self._transaction(title, "preauth_void", amount, auth, date, password)

    async def flow_balance(self) -> None:
        await self._transaction("Balance inquiry", "balance")

    async def flow_settle(self) -> None:
        totals = getattr(self.engine, "totals", None)
        prompt = self.app.text("Settle the batch now?")
        if totals is not None:
            summary = totals()
            prompt = self.app.text(
                "Settle batch {batch} now ({count} transactions)?",
                batch=summary.get("batch", "?"),
                count=summary.get("transactions", "?"),
            )
        if await self.app.ask(ConfirmScreen(prompt)):
            await self._transaction("Settlement", "settle")

    async def flow_reprint(self) -> None:
        choice = await self.app.ask(
            ChoiceScreen("Reprint which receipt?", ["Last receipt", "By voucher number"], title="Reprint")
        )
        if choice is None:
            return
        voucher = None
        if choice == 1:
            voucher = await self._voucher("Reprint", "Voucher number")
            if voucher is None:
                return
        await self._transaction("Reprint", "reprint", voucher)

    async def flow_query(self) -> None:
        voucher = await self._voucher("Transaction query", "Voucher number")
        if voucher is None:
            return
        record = await self._call("Transaction query", "query", voucher)
        if record is MISSING:
            await self._not_available("Transaction query")
        elif record is None:
            await self._show(
                ResultView(
                    "failed", self.app.text("No transaction with voucher {voucher}", voucher=f"{voucher:06d}")
                )
            )
        else:
            await self._show(record_view(self.app, record))

    async def flow_operator(self) -> None:
        current = self.engine.profile.operator
        if current:
            choice = await self.app.ask(
                ChoiceScreen(
                    self.app.text("Operator {op} is signed in", op=current),
                    ["Sign out", "Sign in another operator"],
                    title="Operator sign in / out",
                )
            )
            if choice is None:
                return
            if choice == 0:
                await self._transaction("Operator sign out", "sign_out")
                return
        code = await self._text("Operator number", title="Operator sign in", digits=True, max_length=3)
        if code is None:
            return
        password = await self._text("Operator password", title="Operator sign in", secret=True, max_length=12)
        if password is not None:
            await self._transaction("Operator sign in", "sign_in", code, password)

    async def flow_settings(self) -> None:
        while True:
            choice = await self.app.ask(SettingsScreen())
            if choice is None:
                return
            if choice == "language":
                await self.app.toggle_language()
            elif choice == "sign_on":
                await self._transaction("Sign on", "sign_on")

    async def flow_unsigned(self) -> None:
        unsigned = getattr(self.engine, "unsigned", None)
        if unsigned is None or not hasattr(self.engine, "sign"):
            await self._not_available("Unsigned slips")
            return
        records: list[BatchRecord] = unsigned()
        if not records:
            await self._show(ResultView("info", self.app.text("No unsigned transactions")))
            return
        labels = [
            f"{r.stan:06d}  {Amount.of(r.amount, r.currency).grouped():>10}  {r.pan_masked or ''}"
            for r in records
        ]
        index = await self.app.ask(
            ChoiceScreen("Choose the transaction to sign", labels, title="Unsigned slips")
        )
        if index is None:
            return
        record = records[index]
        png = await self.app.ask(
            SignatureScreen(
                amount=self.app.text.amount(Amount.of(record.amount, record.currency)),
                feature_code=self._feature_code(record.stan),
            )
        )
        if png is None:
            return
        await self._transaction("Cardholder signature", "sign", record.stan, png)

    async def flow_support(self) -> None:
        """Who to call and when; a ticket for the acquirer's staff when the terminal has a desk."""
        desk = self.app.support
        profile = self.engine.profile
        contact = SupportContact(profile.acquirer_name, profile.support_phone)
        notice = ""
        if desk is not None:
            try:
                contact = await asyncio.to_thread(desk.contact)
            except SupportUnavailableError as exc:
                self.app.log.error(f"support contact: {exc!r}")
                notice = "The support desk cannot be reached: call the number above"
        choice = await self.app.ask(
            SupportScreen(contact, can_open_ticket=desk is not None and not notice, notice=notice)
        )
        if choice != "ticket" or desk is None:
            return
        t = self.app.text
        topic = await self.app.ask(
            ChoiceScreen(
                "What is the problem about?", [label for _, label in TICKET_CATEGORIES], title="Open a ticket"
            )
        )
        if topic is None:
            return
        text = await self._text("Describe the problem", title="Open a ticket", max_length=200)
        if not text or not text.strip():
            return
        category, label = TICKET_CATEGORIES[topic]
        operator = profile.operator
        request = TicketRequest(
            terminal_id=profile.terminal_id,
            category=category,
            subject=t("{topic} (terminal {tid})", topic=t(label), tid=profile.terminal_id),
            body=t("Sent from terminal {tid} by operator {op}:", tid=profile.terminal_id, op=operator or "-")
            + "\n"
            + text.strip(),
            operator=operator,
        )
        try:
            number = await asyncio.to_thread(desk.open_ticket, request)
        except SupportUnavailableError as exc:
            self.app.log.error(f"open ticket: {exc!r}")
            reason = exc.reason
            await self._show(
                ResultView(
                    "failed", t("The ticket was not sent ({reason}): call the support phone", reason=reason)
                )
            )
            return
        await self._show(
            ResultView(
                "info",
                t("Ticket #{number} sent: the answer appears in the portal under Support", number=number),
            )
        )

    async def flow_diagnostics(self) -> None:
        await self.app.ask(DiagnosticsScreen())

    async def flow_boot_sign_on(self) -> None:
        """Sign on after the power-on self-test; only a failure needs the operator's attention."""
        outcome = await self._call("Sign on", "sign_on")
        if isinstance(outcome, TxnOutcome):
            self.app.note_outcome(outcome)
            if outcome.approved:
                self.app.notify(self.app.text("Signed on"), timeout=3)
            else:
                await self._show(outcome_view(self.app, outcome, []))

    def network_down(self, outcome: TxnOutcome) -> bool:
        return NETWORK_DOWN in outcome.message
