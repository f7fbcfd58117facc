"""The root Typer application and the options shared by every command."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from typer import _click as click  # Typer vendors Click; TyperGroup's methods take its types
from typer.core import TyperGroup

from poskit import __version__
from poskit.cli import registry

if TYPE_CHECKING:
    from poskit.config import Settings

__all__ = [
    "DataDirOption",
    "JsonOption",
    "LazyCommandGroup",
    "app",
    "console",
    "emit_json",
    "err_console",
    "fail",
    "settings_from",
]


class LazyCommandGroup(TyperGroup):
    """The root group: imports a command's module only when that command is looked up."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None:
            registry.load_command(cmd_name)
            self._adopt_registered()
            found = super().get_command(ctx, cmd_name)
        return found

    def list_commands(self, ctx: click.Context) -> list[str]:
        registry.load_all()
        self._adopt_registered()
        return sorted(super().list_commands(ctx))

    def _adopt_registered(self) -> None:
        # The loaded module registered its commands on the Typer app; build their Click
        # commands the same way Typer built this group.
        built = typer.main.get_group(app)
        for name, command in built.commands.items():
            self.commands.setdefault(name, command)


app = typer.Typer(
    name="poskit",
    cls=LazyCommandGroup,
    help="poskit: a card-payment POS stack — terminal, ISO 8583 acquirer host, ledger and portal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory (default $POSKIT_DATA_DIR or ./poskit-data).", show_default=False
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]


def settings_from(data_dir: Path | None, **overrides: Any) -> Settings:
    # pydantic-settings costs about 0.2 s to import: load it when a command reads its
    # settings, not for `poskit --version` or `--help`.
    from poskit.config import load_settings

    return load_settings(data_dir=data_dir, **overrides)


def emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def fail(message: str, *, code: int = 2, as_json: bool = False, **extra: Any) -> NoReturn:
    """Print a one-line error (or a JSON object with ``error``) and exit."""
    if as_json:
        emit_json({"error": message, **extra})
    else:
        err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        console.print(f"poskit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """poskit command line."""
