"""The accounts service's rules as plain functions: emails, passwords, session ids, cookies,
throttling and who may change a role."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from functools import cache
from typing import Literal

from zxcvbn.frequency_lists import FREQUENCY_LISTS

from petshore.errors import InvalidRequest

# The roles of the contract; STAFF_ROLES (petshore.contract) may make admin calls.
Role = Literal["customer", "staff", "owner"]
ROLES: tuple[Role, ...] = ("customer", "staff", "owner")
MAX_QUERY_LENGTH = 254

# 256 random bits (the contract asks for at least 128); only their SHA-256 is stored, so a
# leaked table names no usable session.
SESSION_ID_BYTES = 32
SESSION_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")
CSRF_TOKEN_BYTES = 16
# A sliding session is written again at most this often, not on every request.
SESSION_REFRESH_SECONDS = 3600

MIN_PASSWORD_LENGTH = 10
# argon2 hashes at most what it is given; a password longer than this is a denial of service,
# not a better password.
MAX_PASSWORD_LENGTH = 256


def email_key(email: str) -> str:
    """What two emails are compared by: the contract compares them case-insensitively."""
    return email.strip().lower()


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn's 30,000 most common passwords, from leaked password lists.
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, email: str) -> str | None:
    """Why `password` may not be used, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"a password has at most {MAX_PASSWORD_LENGTH} characters"
    lowered = password.lower()
    if lowered in _common_passwords():
        return "this password is among the most common ones; choose another"
    if lowered in {email_key(email), email_key(email).partition("@")[0]}:
        return "a password may not be your email address"
    return None


CUSTOMER_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")


def is_customer_id(value: str) -> bool:
    return bool(CUSTOMER_ID_PATTERN.match(value))


def new_session_id() -> str:
    return secrets.token_urlsafe(SESSION_ID_BYTES)


def session_key(session_id: str) -> str:
    """The stored name of a session: its id hashed (the id has 256 random bits: no salt or
    slow hash is needed to make it unguessable)."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def is_session_id(value: str) -> bool:
    return bool(SESSION_ID_PATTERN.match(value))


def new_csrf_token() -> str:
    return secrets.token_urlsafe(CSRF_TOKEN_BYTES)


def needs_refresh(expires_at: int, idle_seconds: int, now: float) -> bool:
    """Whether a sliding session is due to be written again."""
    return expires_at - now < idle_seconds - SESSION_REFRESH_SECONDS


def is_local_host(host: str) -> bool:
    """Whether the request came to this machine itself (`Host: localhost:8080`), where plain
    HTTP is normal and a `Secure` cookie would never be sent back."""
    name = host.strip().lower()
    name = name[1 : name.find("]")] if name.startswith("[") else name.partition(":")[0]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def window_start(now: float, window: int) -> int:
    return int(now) // window * window


def window_end(now: float, window: int) -> int:
    return window_start(now, window) + window


def retry_after(now: float, window: int) -> int:
    """Seconds until the window that `now` falls in ends."""
    return max(1, window_end(now, window) - int(now))


def throttle_key(kind: str, value: str, now: float, window: int) -> str:
    """The counter of failures for one account or one client address in the current window;
    hashed, so the table holds neither emails nor addresses."""
    digest = hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()
    return f"throttle#{kind}#{digest}#{window_start(now, window)}"


def leaves_no_owner(current_role: str, new_role: str, owners: int) -> bool:
    """Whether changing a customer's role would leave the shop without an owner."""
    return current_role == "owner" and new_role != "owner" and owners <= 1


def parse_role(raw: str | None) -> Role | None:
    if raw is None:
        return None
    for role in ROLES:
        if raw == role:
            return role
    raise InvalidRequest(f"role is one of {', '.join(ROLES)}", {"fields": ["role"]})
