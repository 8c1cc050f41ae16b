"""The accounts service's settings, all read from the environment here (see README.md)."""

from __future__ import annotations

from dataclasses import dataclass

from petshore.contract import CART, SESSIONS, Env
from petshore.settings import CommonSettings, env_float, env_int, env_str

DEFAULT_DATABASE_URL = "sqlite://var/accounts.sqlite3"
THIRTY_DAYS = 30 * 24 * 3600


@dataclass(frozen=True)
class Settings:
    common: CommonSettings
    database_url: str
    sessions_table: str
    cart_url: str
    upstream_timeout: float
    # A session not used for this long ends (it slides forward while it is used).
    session_idle_seconds: int
    # Failed sign-ins allowed per account and per client address within one window; then
    # `429` until the window ends.
    signin_window: int
    account_failures: int
    address_failures: int
    # Password hashes computed at once by one process: each argon2id hash takes 64 MiB and
    # a core for tens of milliseconds; more sign-ins wait their turn.
    password_hashers: int

    @classmethod
    def from_env(cls) -> Settings:
        common = CommonSettings.from_env()
        return cls(
            common=common,
            database_url=env_str(Env.ACCOUNTS_DATABASE_URL, DEFAULT_DATABASE_URL),
            sessions_table=env_str(Env.SESSIONS_TABLE, SESSIONS.name(common.environment)),
            cart_url=env_str(Env.CART_URL, f"http://127.0.0.1:{CART.port}"),
            upstream_timeout=env_float(Env.UPSTREAM_TIMEOUT_SECONDS, 5.0),
            session_idle_seconds=env_int(Env.SESSION_IDLE_SECONDS, THIRTY_DAYS, minimum=60),
            signin_window=env_int(Env.SIGNIN_WINDOW_SECONDS, 900, minimum=1),
            account_failures=env_int(Env.SIGNIN_ACCOUNT_FAILURES, 5, minimum=1),
            address_failures=env_int(Env.SIGNIN_ADDRESS_FAILURES, 20, minimum=1),
            password_hashers=env_int(Env.PASSWORD_HASHERS, 2, minimum=1),
        )
