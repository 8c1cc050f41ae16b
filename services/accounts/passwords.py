"""Password hashes: argon2id (argon2-cffi's RFC 9106 low-memory profile), computed off the
event loop and a few at a time, so sign-ins cannot starve the other requests of CPU or
memory."""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    def __init__(self, hashers: int) -> None:
        self._hasher = PasswordHasher()
        self._slots = asyncio.Semaphore(hashers)
        self._decoy = ""

    async def start(self) -> None:
        # What an unknown email's sign-in is checked against, so that it takes as long as a
        # known one's and the answer's timing does not tell which emails have accounts.
        self._decoy = await self.hash(secrets.token_urlsafe(32))

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether `password` is the one `stored` was made from; with no stored hash, the same
        work is done and the answer is False."""
        async with self._slots:
            return await asyncio.to_thread(self._verify, stored, password)

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._decoy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """Whether `stored` was made with weaker parameters than today's."""
        return self._hasher.check_needs_rehash(stored)
