"""One settings object, read from the environment once (secrets never from files in the repo).

==========================  ==========================================================  ========
variable                    meaning                                                     default
==========================  ==========================================================  ========
RESTORA_DATABASE_URL        the store (SQLAlchemy URL)                                  embedded SQLite
RESTORA_BROKER_URL          job queue broker (``redis://…``); none: in-process worker   none
RESTORA_SECRET_KEY          signs session cookies and CSRF tokens (keep it secret)      random per process
RESTORA_DATA_DIR            stored files: appraisal outputs, photos of complaints       user data dir
RESTORA_BEHIND_TLS          served over HTTPS (secure cookies, HSTS)                     false
RESTORA_PUBLIC_RATE         complaints a client address may file per hour               5
RESTORA_PUBLIC_POW_BITS     proof of work of an API complaint [leading zero bits]       18
RESTORA_LOG_LEVEL           log level of the JSON logs                                  INFO
RESTORA_CONTEXT             the county's context GeoPackage (boundary, towns, roads)    none
==========================  ==========================================================  ========
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _data_dir() -> Path:
    raw = os.environ.get("RESTORA_DATA_DIR")
    if raw:
        return Path(raw)
    from platformdirs import user_data_dir

    return Path(user_data_dir("restora")) / "service"


@dataclass(frozen=True)
class Settings:
    """The service's settings (see the module's table)."""

    database_url: str | None = None
    broker_url: str | None = None
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    secret_key_from_env: bool = False
    data_dir: Path = field(default_factory=_data_dir)
    behind_tls: bool = False
    public_rate_per_hour: int = 5
    public_pow_bits: int = 18
    log_level: str = "INFO"
    context_file: Path | None = None

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from ``RESTORA_*`` variables (a missing secret key is random per process:
        sessions then do not survive a restart nor work across several workers)."""
        key = os.environ.get("RESTORA_SECRET_KEY")
        return cls(
            database_url=os.environ.get("RESTORA_DATABASE_URL") or None,
            broker_url=os.environ.get("RESTORA_BROKER_URL") or None,
            secret_key=key or secrets.token_urlsafe(32),
            secret_key_from_env=bool(key),
            data_dir=_data_dir(),
            behind_tls=_flag("RESTORA_BEHIND_TLS"),
            public_rate_per_hour=int(os.environ.get("RESTORA_PUBLIC_RATE", "5")),
            public_pow_bits=int(os.environ.get("RESTORA_PUBLIC_POW_BITS", "18")),
            log_level=os.environ.get("RESTORA_LOG_LEVEL", "INFO").upper(),
            context_file=Path(os.environ["RESTORA_CONTEXT"])
            if os.environ.get("RESTORA_CONTEXT")
            else None,
        )
