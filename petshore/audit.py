"""Who did what with admin rights: every change made through an admin route (the admin
token or a staff session) is recorded, with who made it, in the database of the service that
made it (`petshore.auth.admin_route` records it). The orders service also keeps each order's
own history and each stock change with its reason; this is the one log of every service.

The table is each service's own (its models module imports `AdminAction`, and its migrations
create it): a service's database holds everything about that service's data."""

from __future__ import annotations

from typing import Any

from sanic import Request
from tortoise import fields
from tortoise.models import Model
from typing_extensions import TypedDict

from petshore.logs import request_id_var
from petshore.timestamps import rfc3339

# Reads change nothing: they are not recorded.
RECORDED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TARGET_LENGTH = 200


# One admin call that changed something. `target` is what its path names (a SKU, an order or
# customer id); `body_fields` the names of the body's fields, never their values (a password may
# be among them). (A comment, not a docstring: Tortoise writes docstrings into the schema.)
class AdminAction(Model):
    id = fields.BigIntField(primary_key=True)
    actor = fields.CharField(max_length=64, db_index=True)
    operation = fields.CharField(max_length=64)
    target = fields.CharField(max_length=TARGET_LENGTH, db_index=True)
    body_fields = fields.JSONField(default=list)
    status = fields.SmallIntField()
    request_id = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "admin_action"


async def record(request: Request, actor: str, status: int, target: dict[str, Any]) -> None:
    """Keep a change `actor` made to `target` (the path's values), if it was one."""
    if request.method not in RECORDED_METHODS or status >= 400:
        return
    body = request.json if request.body else None
    await AdminAction.create(
        actor=actor,
        operation=request.route.name.rpartition(".")[2] if request.route else request.path,
        target="/".join(str(v) for v in target.values())[:TARGET_LENGTH],
        body_fields=sorted(body) if isinstance(body, dict) else [],
        status=status,
        request_id=(request_id_var.get() or "")[:64],
    )


class Action(TypedDict):
    actor: str  # admin-token, or <role>:<customer id>
    operation: str  # the route: update_product, set_role, fulfil_order…
    target: str
    fields: list[str]
    status: int
    at: str


class Actions(TypedDict):
    items: list[Action]


async def actions(target: str | None, limit: int) -> Actions:
    """The latest changes, newest first: all of them, or those made to `target`."""
    rows = AdminAction.all()
    if target is not None:
        rows = rows.filter(target=target)
    found = await rows.order_by("-created_at", "-id").limit(limit)
    return {
        "items": [
            {
                "actor": row.actor,
                "operation": row.operation,
                "target": row.target,
                "fields": list(row.body_fields),
                "status": row.status,
                "at": rfc3339(row.created_at),
            }
            for row in found
        ]
    }
