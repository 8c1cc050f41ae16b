"""The accounts service's tables."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

# The service's own log of admin changes (petshore.audit): Tortoise finds it in this module.
from petshore.audit import AdminAction as AdminAction


class Customer(Model):
    id = fields.CharField(max_length=40, primary_key=True)
    # As the customer wrote it; `email_key` (lower case) is what is unique and looked up.
    email = fields.CharField(max_length=254)
    email_key = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200)
    # argon2id, in its own encoding (parameters and salt included); never leaves the service.
    password_hash = fields.CharField(max_length=255)
    role = fields.CharField(max_length=16, default="customer", db_index=True)
    default_shipping_address = fields.JSONField(null=True)
    # The customer's cart from their first sign-in with one on: a cart id in the cart service.
    cart_id = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "customer"
