"""Settings shared by every poskit program (environment variables ``POSKIT_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    # Connection limits of the ISO 8583 front end (raised by the load benchmark).
    host_max_connections: int = 2000
    host_idle_timeout: float = 300.0
    portal_bind: str = "127.0.0.1"
    portal_port: int = 8000
    lmk_file: Path | None = None
    log_format: str = "console"  # console | json
    locale: str = "en"

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
