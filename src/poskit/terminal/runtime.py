"""Opening a terminal from the data directory: its store, its PIN pad and its engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from poskit.config import Settings
from poskit.terminal.devices.network import TcpHostLink
from poskit.terminal.devices.ports import Devices, HostLink
from poskit.terminal.engine import TerminalEngine
from poskit.terminal.secure_element import SecureElement
from poskit.terminal.store import NotProvisionedError, TerminalStore

__all__ = ["UnknownTerminalError", "default_terminal", "open_terminal", "terminal_files"]


class UnknownTerminalError(LookupError):
    def __init__(self, terminal_id: str, data_dir: Path, known: list[str]) -> None:
        hint = f"known terminals: {', '.join(known)}" if known else "run `poskit up` first to create them"
        super().__init__(f"no terminal {terminal_id!r} in {data_dir}: {hint}")
        self.terminal_id = terminal_id


def terminal_files(settings: Settings, terminal_id: str) -> tuple[Path, Path]:
    """(store file, PIN pad master key file) of one terminal under the data directory."""
    base = settings.terminals_dir / terminal_id
    return base / "terminal.sqlite", base / "pinpad.key"


def known_terminals(settings: Settings) -> list[str]:
    if not settings.terminals_dir.exists():
        return []
    return sorted(p.name for p in settings.terminals_dir.iterdir() if (p / "terminal.sqlite").exists())


def default_terminal(settings: Settings) -> str:
    known = known_terminals(settings)
    return known[0] if known else "10000001"


def open_terminal(
    settings: Settings,
    terminal_id: str,
    devices_factory: Callable[[HostLink], Devices],
    *,
    host_address: str | None = None,
) -> tuple[TerminalStore, TerminalEngine]:
    """The terminal's engine wired to ``devices_factory(link)``'s devices."""
    store_file, key_file = terminal_files(settings, terminal_id)
    if not store_file.exists():
        raise UnknownTerminalError(terminal_id, settings.data_dir, known_terminals(settings))
    store = TerminalStore.open(store_file)
    try:
        profile = store.profile()
    except NotProvisionedError:
        store.close()
        raise
    element = SecureElement.open(key_file, store, mac_algorithm=profile.mac_algorithm)
    link = TcpHostLink(host_address or profile.host_address)
    devices = devices_factory(link)
    return store, TerminalEngine(store, element, devices)
