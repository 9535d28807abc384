"""Settings: from CLI flags and ``TRACKER_*`` environment variables, nothing else."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = Path("data")


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = DEFAULT_DATA_DIR
    db: str | None = None
    secret: str | None = None
    demo: bool = False
    # FULL: nothing acknowledged is ever lost.  NORMAL: faster, but a power cut (not a
    # process crash) can lose the last transactions before the next checkpoint.
    sqlite_synchronous: str = "FULL"
    # Ingest rate limits (/collect, /v1/*): (requests a second, burst); (0, 0) turns one off.
    # A person's beacon sends a request or two per page: 20/s is far above any human.
    visitor_limit: tuple[float, float] = (20.0, 40.0)
    # Offices and mobile carriers put many people behind one address: 5 times a visitor's.
    ip_limit: tuple[float, float] = (100.0, 200.0)
    # Believe the last X-Forwarded-For entry: for a proxy that uvicorn does not already
    # trust (its --forwarded-allow-ips rewrites the client address by itself).
    trusted_proxy: bool = False
    # Webhook deliveries (see ``outbox``): attempts before a delivery is dead, the first
    # retry's wait in seconds (doubling, with jitter), and how often the outbox is
    # polled; a poll of 0 sends nothing from this process (another instance delivers).
    webhook_attempts: int = 8
    webhook_backoff: float = 30.0
    webhook_poll: float = 1.0
    # A console what-if over this many people or more is replayed in a child process, away from
    # ingestion's event loop (``services.what_if_apart``); a smaller one in the server.
    what_if_apart_people: int = 2000
    # A calibration report of a site of this many people or more is computed in a child process
    # (``services.calibration_apart``); a smaller site's in the server.
    reports_apart_people: int = 2000
    # How console passwords are hashed (``console_users.HASHINGS``).  Not read from the
    # environment: only the test suite picks its "cheapest-for-tests" profile.
    password_hashing: str = "argon2id"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {
            "data_dir": Path(env.get("TRACKER_DATA_DIR", str(DEFAULT_DATA_DIR))),
            "db": env.get("TRACKER_DB") or None,
            "secret": env.get("TRACKER_SECRET") or None,
            "sqlite_synchronous": env.get("TRACKER_SQLITE_SYNCHRONOUS", "FULL"),
            "visitor_limit": rate_limit(env.get("TRACKER_VISITOR_LIMIT", "20/40")),
            "ip_limit": rate_limit(env.get("TRACKER_IP_LIMIT", "100/200")),
            "trusted_proxy": env.get("TRACKER_TRUSTED_PROXY", "").lower() in ("1", "true", "yes"),
            "webhook_attempts": int(env.get("TRACKER_WEBHOOK_ATTEMPTS", "8")),
            "webhook_backoff": float(env.get("TRACKER_WEBHOOK_BACKOFF", "30")),
            "webhook_poll": float(env.get("TRACKER_WEBHOOK_POLL", "1")),
            "what_if_apart_people": int(env.get("TRACKER_WHAT_IF_APART_PEOPLE", "2000")),
            "reports_apart_people": int(env.get("TRACKER_REPORTS_APART_PEOPLE", "2000")),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def database_url(self) -> str:
        return self.db or f"sqlite:///{self.data_dir / 'tracker.db'}"

    def signing_secret(self) -> str:
        """The configured secret, else one generated on first start and kept in the data dir."""
        if self.secret:
            return self.secret
        path = self.data_dir / "secret.key"
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        # O_EXCL: if two workers start at once, exactly one writes and both read the same key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text(encoding="utf-8").strip()
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secret)
        return secret


def rate_limit(text: str) -> tuple[float, float]:
    """``"20/40"``: 20 requests a second, bursts of 40; ``"20"``: bursts of 20; ``"off"``: no limit."""
    if text.strip().lower() in ("off", "0"):
        return (0.0, 0.0)
    rate, _, burst = text.partition("/")
    try:
        limit = (float(rate), float(burst or rate))
    except ValueError:
        limit = (0.0, 0.0)
    if not (0 < limit[0] < float("inf") and 1 <= limit[1] < float("inf")):
        raise ValueError(f"a rate limit is RATE/BURST (e.g. 20/40) or off, not {text!r}")
    return limit
