"""Request bodies the accounts service accepts."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from petshore.bodies import Address, Body, Email
from services.accounts.rules import Role

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# Length and commonness are rules (services.accounts.rules), so the 400 can say why; this
# only bounds what is read.
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
CartId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class SignUp(Body):
    email: Email
    password: Password
    name: Name
    # Only with the admin token: the shop's first owner, or staff made by automation.
    role: Role | None = None
    # Extension: a guest cart that becomes the new customer's cart.
    cart_id: CartId | None = None


class SignIn(Body):
    email: Email
    password: Password
    cart_id: CartId | None = None


class ProfilePatch(Body):
    name: Name | None = None
    default_shipping_address: Address | None = None

    def changes(self) -> dict[str, object]:
        """The fields the request named; an address sent as null clears it."""
        sent = self.model_dump(exclude_unset=True)
        return {k: v for k, v in sent.items() if k == "default_shipping_address" or v is not None}


class PasswordChange(Body):
    current_password: Password
    new_password: Password


class RoleChange(Body):
    role: Role
