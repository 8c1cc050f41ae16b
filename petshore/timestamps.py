"""Times as the contract writes them: RFC 3339, in UTC, with a `Z`."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(moment: datetime | int) -> str:
    """`moment`: a datetime (naive ones are UTC, as the databases store them) or epoch seconds."""
    if isinstance(moment, int):
        moment = datetime.fromtimestamp(moment, UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def utcnow() -> datetime:
    return datetime.now(UTC)
