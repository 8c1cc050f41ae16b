"""A product's published model files follow the product: retired when no active product shows
them any more, reinstated when one does again. The model worker publishes them."""

from __future__ import annotations

from typing import Any

from petshore import modelfiles
from services.catalog import store


async def retire(s3: Any, bucket: str, keys: list[str]) -> None:
    """Retire those of `keys` that no active product shows any more (a discontinued
    product's, a replaced model's). They stay readable: a page opened before the change may
    still ask for them, the lifecycle rule moves them 30 days later, and even then to Glacier
    Instant Retrieval, which CloudFront can still read."""
    if keys:
        shown = await store.keys_in_use(keys)
        await modelfiles.set_retired(s3, bucket, [k for k in keys if k not in shown], True)


async def reinstate(s3: Any, bucket: str, keys: list[str]) -> None:
    """A re-listed product's files, back to the Standard class without their tag (those not
    retired are left as they are)."""
    for key in keys:
        head = await s3.head_object(Bucket=bucket, Key=key)
        if modelfiles.is_retired(head):
            await modelfiles.set_retired(s3, bucket, [key], discontinued=False)
