"""The browser POS pages: ``/pos`` (my terminals) and ``/pos/{terminal_id}`` (the device).

The page drives the terminal's real engine on the server through a WebSocket
(``/pos/{terminal_id}/ws``). Only logged-in users of the terminal's own merchant may
open it; for anyone else the terminal does not exist (404), like every other
merchant-scoped URL of the portal. One page at a time drives a terminal, as one
person stands at one POS.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine, select

from poskit.cards.book import CARD_BOOK, TestCard
from poskit.config import Settings
from poskit.i18n import normalise_locale
from poskit.logs import get_logger
from poskit.portal.accounts import PortalUser
from poskit.portal.data.merchants import merchant_locale
from poskit.portal.pos.i18n import PAGE_MESSAGES, pos_translator
from poskit.portal.pos.session import MENU, PosSession
from poskit.portal.web import user_for_session
from poskit.store.schema import merchants, terminals
from poskit.terminal.devices.browser import BrowserChannel, browser_kit
from poskit.terminal.runtime import UnknownTerminalError, open_terminal
from poskit.terminal.store import NotProvisionedError

__all__ = ["PosConfig", "close_pos", "configure_pos", "router"]

_log = get_logger("poskit.portal.pos")
_HERE = Path(__file__).parent
_STATIC = {"pos.js": "text/javascript", "pos.css": "text/css"}
#: The largest message a page may send: a signature PNG as base64, with room to spare.
_MAX_MESSAGE = 512 * 1024

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=_HERE / "templates")


@dataclasses.dataclass
class PosConfig:
    """What the POS needs from the running services (set by :func:`configure_pos`)."""

    settings: Settings
    host_address: str
    wallet: Path | None = None
    prompt_timeout: float = 120.0
    status_interval: float = 20.0
    finish_timeout: float = 60.0  # how long a closed page's transaction may still take to finish
    takeover_wait: float = 5.0  # how long a new page waits for the previous one to let go
    locks: dict[str, asyncio.Lock] = dataclasses.field(default_factory=dict)
    #: The pages connected now: their channel and the task serving them.
    active: dict[BrowserChannel, asyncio.Task[Any]] = dataclasses.field(default_factory=dict)
    closing: bool = False


def configure_pos(app: FastAPI, *, settings: Settings, host_address: str, **options: Any) -> PosConfig:
    """Enable the browser POS on ``app`` with terminals from ``settings.data_dir``.

    ``host_address`` is where the running host listens (``127.0.0.1:8583``). Chip
    counters of the test cards persist under ``<data dir>/cards`` like ``poskit pay``'s.
    """
    options.setdefault("wallet", settings.data_dir / "cards")
    config = PosConfig(settings=settings, host_address=host_address, **options)
    existing = getattr(app.state, "pos", None)
    if isinstance(existing, PosConfig):
        config.locks, config.active = existing.locks, existing.active
    app.state.pos = config
    return config


async def close_pos(app: FastAPI, *, timeout: float = 10.0) -> None:
    """Before the services stop: tell every open POS page, let transactions in flight finish.

    Open questions are cancelled (as when a page closes); a host exchange already sent
    completes, so nothing is left half done when the event loop stops.
    """
    config = getattr(app.state, "pos", None)
    if not isinstance(config, PosConfig):
        return
    config.closing = True
    for channel in list(config.active):
        translate = channel.translate
        channel.send({"t": "fatal", "message": translate("The server is shutting down")})
        channel.close()
    tasks = list(config.active.values())
    if tasks:
        await asyncio.wait(tasks, timeout=timeout)


# ---------------------------------------------------------------------- access
def _db(app: Any) -> Engine:
    engine = getattr(app.state, "engine", None)
    if engine is None:  # pragma: no cover - create_app always sets it
        raise HTTPException(status_code=503, detail="portal database not configured")
    return engine  # type: ignore[no-any-return]


def _now(app: Any) -> datetime:
    portal = getattr(app.state, "portal", None)
    clock = getattr(portal, "clock", None)
    return clock() if callable(clock) else datetime.now(UTC)


def _user(app: Any, session: MutableMapping[str, Any]) -> PortalUser | None:
    """The user of the portal session behind the cookie (server-side, revocable)."""
    return user_for_session(_db(app), session, now=_now(app))


def _terminal(engine: Engine, user: PortalUser, terminal_id: str) -> dict[str, Any] | None:
    """The terminal if it belongs to the user's merchant; None for anything else (a 404)."""
    if user.is_acquirer or user.merchant_id is None:
        return None
    query = (
        select(
            terminals.c.terminal_id,
            terminals.c.location,
            terminals.c.model,
            terminals.c.status,
            merchants.c.id.label("merchant_id"),
            merchants.c.name.label("merchant_name"),
            merchants.c.name_en.label("merchant_name_en"),
        )
        .select_from(terminals.join(merchants))
        .where(terminals.c.terminal_id == terminal_id, terminals.c.merchant_id == user.merchant_id)
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
        if row is None:
            return None
        # the device's clock keeps the merchant's time, wherever the browser is
        return {**row, "timezone": merchant_locale(conn, int(row["merchant_id"])).timezone}


def _terminals(engine: Engine, user: PortalUser) -> list[dict[str, Any]]:
    if user.is_acquirer or user.merchant_id is None:
        return []
    query = (
        select(terminals.c.terminal_id, terminals.c.location, terminals.c.model, terminals.c.status)
        .where(terminals.c.merchant_id == user.merchant_id)
        .order_by(terminals.c.terminal_id)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def _locale(request_lang: str | None, user: PortalUser | None) -> str:
    if request_lang:
        return normalise_locale(request_lang)
    return normalise_locale(user.locale if user else None)


def _login_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse("/login?next=" + quote(request.url.path, safe="/"), status_code=303)


def _not_found(request: Request) -> Response:
    """A plain 404 page: for another merchant's terminal exactly as for one that does not exist."""
    return templates.TemplateResponse(request, "pos_404.html", {}, status_code=404)


def _card_view(card: TestCard) -> dict[str, Any]:
    scheme = card.scheme
    return {
        "name": card.name,
        "masked": f"{card.pan[:4]} •••• {card.pan[-4:]}",
        "pin": card.pin,
        "scheme": scheme,
        "funding": card.funding,
        "currency": card.currency,
        "status": card.status,
        "description": card.description,
        "swipe": card.has("magstripe"),
        "chip": card.has("chip"),
        "tap": card.has("contactless"),
    }


# ---------------------------------------------------------------------- pages
@router.get("/pos", response_class=HTMLResponse)
def pos_index(request: Request, lang: str | None = None) -> Response:
    engine = _db(request.app)
    user = _user(request.app, request.session)
    if user is None:
        return _login_redirect(request)
    locale = _locale(lang, user)
    t = pos_translator(locale)
    return templates.TemplateResponse(
        request,
        "pos_index.html",
        {"user": user, "terminals": _terminals(engine, user), "t": t, "lang": locale},
    )


@router.get("/pos/static/{name}")
def pos_static(name: str) -> FileResponse:
    media = _STATIC.get(name)
    if media is None:
        raise HTTPException(status_code=404, detail="no such file")
    return FileResponse(_HERE / "static" / name, media_type=media, headers={"Cache-Control": "no-cache"})


@router.get("/pos/{terminal_id}", response_class=HTMLResponse)
def pos_page(request: Request, terminal_id: str, lang: str | None = None) -> Response:
    engine = _db(request.app)
    user = _user(request.app, request.session)
    if user is None:
        return _login_redirect(request)
    terminal = _terminal(engine, user, terminal_id)
    if terminal is None:
        return _not_found(request)
    config = getattr(request.app.state, "pos", None)
    locale = _locale(lang, user)
    t = pos_translator(locale)
    context = {
        "user": user,
        "terminal": terminal,
        "t": t,
        "lang": locale,
        "html_lang": "zh-CN" if locale == "zh_CN" else "en",
        "other_lang": "en" if locale == "zh_CN" else "zh_CN",
        "enabled": isinstance(config, PosConfig),
        "cards": [_card_view(c) for c in CARD_BOOK],
        "menu": [{"key": m.key, "label": t(m.label)} for m in MENU],
        "messages": {m: t(m) for m in PAGE_MESSAGES},
    }
    return templates.TemplateResponse(
        request, "pos.html", context, status_code=200 if context["enabled"] else 503
    )


# ---------------------------------------------------------------------- the device socket
def _same_origin(websocket: WebSocket) -> bool:
    """Refuse cross-site WebSocket hijacking: the page must come from this server."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser (scripts and tests); the session cookie still decides
    return urlsplit(origin).netloc == websocket.headers.get("host", "")


@router.websocket("/pos/{terminal_id}/ws")
async def pos_socket(websocket: WebSocket, terminal_id: str, lang: str | None = None) -> None:
    config = getattr(websocket.app.state, "pos", None)
    engine = _db(websocket.app)
    user = (
        await asyncio.to_thread(_user, websocket.app, websocket.session) if _same_origin(websocket) else None
    )
    terminal = await asyncio.to_thread(_terminal, engine, user, terminal_id) if user else None
    if terminal is None or not isinstance(config, PosConfig) or config.closing:
        await websocket.close(code=4404)  # before accept: the handshake is refused
        return
    await websocket.accept()
    lock = config.locks.setdefault(terminal_id, asyncio.Lock())
    try:
        await asyncio.wait_for(lock.acquire(), config.takeover_wait)
    except TimeoutError:
        translate = pos_translator(_locale(lang, user))
        await websocket.send_json(
            {"t": "fatal", "message": translate("This terminal is open in another window")}
        )
        await websocket.close(code=4409)
        return
    try:
        await _serve(websocket, config, terminal_id, _locale(lang, user))
    finally:
        lock.release()


async def _serve(websocket: WebSocket, config: PosConfig, terminal_id: str, locale: str) -> None:
    channel = BrowserChannel(translate=pos_translator(locale), prompt_timeout=config.prompt_timeout)
    kit = browser_kit(channel, wallet=config.wallet)
    try:
        store, engine = await asyncio.to_thread(
            open_terminal, config.settings, terminal_id, kit.devices, host_address=config.host_address
        )
    except (UnknownTerminalError, NotProvisionedError) as exc:
        await websocket.send_json({"t": "fatal", "message": str(exc)})
        await websocket.close(code=1011)
        return
    session = PosSession(engine, kit, status_interval=config.status_interval)
    current = asyncio.current_task()
    if current is not None:
        config.active[channel] = current
    sender = asyncio.create_task(_send_loop(websocket, channel))
    receiver = asyncio.create_task(_receive_loop(websocket, channel))
    runner = asyncio.create_task(session.run())
    try:
        await asyncio.wait({receiver, runner}, return_when=asyncio.FIRST_COMPLETED)
        channel.close()  # open questions are cancelled; a host exchange in flight still finishes
        try:
            await asyncio.wait_for(asyncio.shield(runner), config.finish_timeout)
        except TimeoutError:
            runner.cancel()
        except Exception as exc:
            _log.error("pos.session_failed", terminal=terminal_id, error_type=type(exc).__name__)
    finally:
        config.active.pop(channel, None)
        for task in (receiver, runner):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(receiver, runner, return_exceptions=True)
        for _ in range(50):  # the last words (a result, "shutting down") reach the page first
            if channel.outbox.empty() or sender.done():
                break
            await asyncio.sleep(0.01)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(sender, return_exceptions=True)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close()
        await asyncio.to_thread(store.close)


async def _send_loop(websocket: WebSocket, channel: BrowserChannel) -> None:
    while True:
        event = await channel.outbox.get()
        try:
            await websocket.send_text(json.dumps(event, ensure_ascii=False))
        except (WebSocketDisconnect, RuntimeError):
            return


async def _receive_loop(websocket: WebSocket, channel: BrowserChannel) -> None:
    """Page events into the channel. Their content (PIN keys among them) is never logged."""
    while True:
        try:
            frame = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if frame.get("type") == "websocket.disconnect":
            return
        text = frame.get("text")
        if not isinstance(text, str) or len(text) > _MAX_MESSAGE:
            continue
        try:
            message = json.loads(text)
        except ValueError:
            continue
        channel.feed(message)
