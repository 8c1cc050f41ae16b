"""Static-analysis findings (checkov) that are deliberate, each with its reason, written into
the resource's metadata where checkov and a reviewer both read it."""

from __future__ import annotations


def accepted(*findings: tuple[str, str]) -> dict[str, object]:
    """Metadata for a resource: `accepted(("CKV_AWS_2", "why"), ...)`."""
    return {"checkov": {"skip": [{"id": check, "comment": why} for check, why in findings]}}
