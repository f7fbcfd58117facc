"""Settings shared by every poskit program (environment variables ``POSKIT_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from poskit.host.connections import ConnectionLimits
    from poskit.tms.alerts import FleetPolicy

__all__ = ["Settings", "load_settings"]


class Settings(BaseSettings):
    """Where data lives and where the services listen.

    ``POSKIT_DATA_DIR`` (default ``./poskit-data``) holds the embedded SQLite
    database, the LMK key file and each terminal's own store. ``POSKIT_DATABASE_URL``
    selects another database (e.g. ``postgresql+psycopg://...``).
    """

    model_config = SettingsConfigDict(env_prefix="POSKIT_", extra="ignore")

    data_dir: Path = Field(default=Path("poskit-data"))
    database_url: str | None = None
    host_bind: str = "127.0.0.1"
    host_port: int = 8583
    # Connection limits of the ISO 8583 front end (docs/protocol.md "Connection limits";
    # raised by the load benchmark).
    host_max_connections: int = 2000
    host_max_connections_per_address: int = 100
    host_idle_timeout: float = 300.0
    host_first_message_timeout: float = 30.0
    host_frame_timeout: float = 10.0
    host_max_bad_frames: int = 10
    host_address_bad_frames: int = 50
    host_bad_frame_delay: float = 0.5
    # How the host decides and persists authorisations: ``sql`` runs each one as SQL statements in the
    # group-commit writer; ``memory`` decides over state held in memory and writes each group of
    # results with prepared statements in one commit (poskit.host.hotpath).
    # memory is the default: the whole suite passes on it (SQLite), and it is ~3x the sql engine
    host_engine: Literal["sql", "memory"] = "memory"
    portal_bind: str = "127.0.0.1"
    portal_port: int = 8000
    lmk_file: Path | None = None
    log_format: str = "console"  # console | json
    locale: str = "en"
    # days a slip's e-receipt link opens the receipt (POSKIT_RECEIPT_LINK_DAYS)
    receipt_link_days: int = Field(default=180, ge=1)
    # the lowest terminal software version in policy; older raises an alert (empty: no policy)
    terminal_minimum_software_version: str = ""

    def fleet_policy(self) -> FleetPolicy:
        from poskit.tms.alerts import FleetPolicy

        return FleetPolicy(minimum_software_version=self.terminal_minimum_software_version)

    def connection_limits(self) -> ConnectionLimits:
        # Imported here: terminals read these settings too, and must not load host modules.
        from poskit.host.connections import ConnectionLimits

        return ConnectionLimits(
            frame_timeout=self.host_frame_timeout,
            first_message_timeout=self.host_first_message_timeout,
            idle_timeout=self.host_idle_timeout,
            max_connections=self.host_max_connections,
            max_per_address=self.host_max_connections_per_address,
            max_bad_frames=self.host_max_bad_frames,
            address_bad_frames=self.host_address_bad_frames,
            bad_frame_delay=self.host_bad_frame_delay,
        )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'poskit.sqlite').resolve()}"

    @property
    def resolved_lmk_file(self) -> Path:
        return self.lmk_file or self.data_dir / "lmk.key"

    @property
    def terminals_dir(self) -> Path:
        return self.data_dir / "terminals"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit (non-None) overrides from the command line."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]
