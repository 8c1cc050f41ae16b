"""Signing up, in and out, and the session a request carries: the rules and the stores put
together, without HTTP."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from petshore.errors import (
    Conflict,
    InvalidRequest,
    TooManyRequests,
    Unauthorized,
    Unavailable,
)
from petshore.tables import DynamoTable
from petshore.upstream import ServiceClient
from services.accounts import rules, store
from services.accounts.passwords import Passwords
from services.accounts.schemas import PasswordChange, SignIn, SignUp
from services.accounts.settings import Settings
from services.accounts.store import Row, Session

log = logging.getLogger("petshore.accounts")

# One answer for an unknown email and a wrong password, so it does not tell which is which.
WRONG_CREDENTIALS = "the email or the password is wrong"


@dataclass(frozen=True)
class Accounts:
    """What the handlers use: settings, the sessions table, the password hasher and the cart
    service (to merge a guest cart)."""

    settings: Settings
    table: DynamoTable
    passwords: Passwords
    cart: ServiceClient


@dataclass(frozen=True)
class Started:
    """A new session: the id for the cookie (never stored) and what is stored."""

    session_id: str
    session: Session


async def start_session(accounts: Accounts, customer_id: str) -> Started:
    session_id = rules.new_session_id()
    session = Session(
        key=rules.session_key(session_id),
        customer_id=customer_id,
        csrf_token=rules.new_csrf_token(),
        expires_at=int(time.time()) + accounts.settings.session_idle_seconds,
    )
    await store.put_session(accounts.table, session)
    return Started(session_id, session)


async def current(accounts: Accounts, session_id: str | None) -> tuple[Session, bool]:
    """The session the cookie names, slid forward when due, and whether it was (so the cookie
    is sent again with the new expiry); 401 when there is none."""
    if not session_id:
        raise Unauthorized("sign in first")
    session = None
    if rules.is_session_id(session_id):
        session = await store.get_session(accounts.table, rules.session_key(session_id))
    if session is None:
        raise Unauthorized("this session has ended: sign in again")
    idle = accounts.settings.session_idle_seconds
    now = time.time()
    if not rules.needs_refresh(session.expires_at, idle, now):
        return session, False
    expires_at = int(now) + idle
    await store.extend_session(accounts.table, session.key, expires_at)
    return replace(session, expires_at=expires_at), True


async def _policy(password: str, email: str, field: str) -> None:
    problem = rules.password_problem(password, email)
    if problem:
        raise InvalidRequest(problem, {"fields": [field]})


async def sign_up(accounts: Accounts, body: SignUp, role: str) -> Row:
    await _policy(body.password, body.email, "password")
    hashed = await accounts.passwords.hash(body.password)
    row = await store.create_customer(body.email, body.name, hashed, role)
    # The guest cart becomes the customer's, or a new one is: what a signed-in shopper adds
    # to is always the cart their next sign-in (on any device) finds.
    cart_id = await customer_cart(accounts.cart, None, body.cart_id)
    if cart_id:
        row = await store.update_customer(row["id"], {"cart_id": cart_id})
    return row


async def _throttle(accounts: Accounts, email: str, address: str) -> list[str]:
    """The counters this sign-in adds to if it fails; 429 when either is full."""
    s = accounts.settings
    now = time.time()
    keys = [
        rules.throttle_key("account", rules.email_key(email), now, s.signin_window),
        rules.throttle_key("address", address, now, s.signin_window),
    ]
    account, by_address = await store.failures(accounts.table, keys)
    if account >= s.account_failures or by_address >= s.address_failures:
        raise TooManyRequests(
            "too many failed sign-ins: wait, then try again",
            rules.retry_after(now, s.signin_window),
        )
    return keys


async def _count_failure(accounts: Accounts, keys: list[str]) -> None:
    expires_at = rules.window_end(time.time(), accounts.settings.signin_window)
    await store.count_failure(accounts.table, keys, expires_at)


async def sign_in(accounts: Accounts, body: SignIn, address: str) -> tuple[Row, Started]:
    keys = await _throttle(accounts, body.email, address)
    found = await store.find_password(body.email)
    # Verified either way (an unknown email against the decoy hash): the same work, so the
    # answer's timing does not tell which emails have accounts (bench/accounts.py).
    verified = await accounts.passwords.verify(found[1] if found else None, body.password)
    if found is None or not verified:
        await _count_failure(accounts, keys)
        raise Unauthorized(WRONG_CREDENTIALS)
    customer_id, stored = found
    if accounts.passwords.needs_rehash(stored):
        rehashed = await accounts.passwords.hash(body.password)
        await store.update_customer(customer_id, {"password_hash": rehashed})
    row = await store.get_customer(customer_id)
    cart_id = await customer_cart(accounts.cart, row["cart_id"], body.cart_id)
    if cart_id != row["cart_id"]:
        row = await store.update_customer(customer_id, {"cart_id": cart_id})
    return row, await start_session(accounts, customer_id)


async def change_password(
    accounts: Accounts, session: Session, body: PasswordChange, address: str
) -> None:
    """A new password; every other session of the customer ends."""
    row = await store.get_customer(session.customer_id)
    keys = await _throttle(accounts, row["email"], address)
    stored = await store.password_hash(session.customer_id)
    if not await accounts.passwords.verify(stored, body.current_password):
        await _count_failure(accounts, keys)
        raise InvalidRequest("the current password is wrong", {"fields": ["current_password"]})
    await _policy(body.new_password, row["email"], "new_password")
    hashed = await accounts.passwords.hash(body.new_password)
    await store.update_customer(session.customer_id, {"password_hash": hashed})
    await store.delete_sessions(accounts.table, session.customer_id, keep=session.key)


async def set_role(customer_id: str, role: str) -> Row:
    target = await store.get_customer(customer_id)
    if rules.leaves_no_owner(target["role"], role, await store.owners()):
        raise Conflict("the shop needs an owner: make another customer owner first")
    return await store.update_customer(customer_id, {"role": role})


async def customer_cart(cart: ServiceClient, mine: str | None, guest: str | None) -> str | None:
    """The customer's cart once they signed in: the guest cart's lines merged into theirs
    (quantities added, at most 99), the guest cart itself when they had none (or theirs
    expired), a new one when there is neither. When the cart service cannot be reached the
    sign-in still succeeds, keeping whichever cart the shopper has, and the merge waits for
    the next sign-in: no line is lost either way."""
    try:
        if mine and guest and mine != guest:
            status, _ = await cart.request(
                "POST", f"/api/cart/carts/{mine}/merges", {"from_cart_id": guest}
            )
            # 404: their own cart expired. (A guest cart that is gone merged already.)
            return guest if status == 404 else mine
        if guest:
            return guest
        if mine:
            status, _ = await cart.request("GET", f"/api/cart/carts/{mine}")
            if status == 200:
                return mine
        status, created = await cart.request("POST", "/api/cart/carts")
        return str(created["cart_id"]) if status == 201 else None
    except Unavailable as exc:
        log.warning("the guest cart was not merged at sign-in: %s", exc)
        return guest or mine
