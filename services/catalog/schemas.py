"""Request bodies the catalog accepts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from petshore.bodies import Body
from petshore.contract import SKU_PATTERN
from services.catalog.rules import (
    IMAGE_ID_PATTERN,
    MAX_IMAGES,
    MAX_OPTION_VALUES,
    MAX_OPTIONS,
    MAX_PRICE_CENTS,
    MAX_VARIANTS,
    Option,
    Variant,
    check_variants,
)

Sku = Annotated[str, StringConstraints(pattern=SKU_PATTERN.pattern)]
ImageId = Annotated[str, StringConstraints(pattern=IMAGE_ID_PATTERN.pattern)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=5000)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
PriceCents = Annotated[int, Field(ge=0, le=MAX_PRICE_CENTS)]


class ProductCreate(Body):
    sku: Sku
    name: Name
    description: Description = ""
    category: Slug
    price_cents: PriceCents
    currency: Currency = "USD"


class ProductPatch(Body):
    sku: Sku | None = None
    name: Name | None = None
    description: Description | None = None
    category: Slug | None = None
    price_cents: PriceCents | None = None
    currency: Currency | None = None
    # "active" re-lists a discontinued product; "discontinued" is DELETE's.
    status: Literal["active", "discontinued"] | None = None
    # Every one of the product's photo ids, in the order they are to be shown.
    image_order: Annotated[list[ImageId], Field(max_length=MAX_IMAGES)] | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> ProductPatch:
        nulls = [name for name in self.model_fields_set if getattr(self, name) is None]
        if nulls:
            raise ValueError(f"{', '.join(sorted(nulls))} cannot be null")
        return self

    def changes(self) -> dict[str, object]:
        """The product's own columns to change (image_order is the photos')."""
        kept = self.model_fields_set - {"sku", "image_order"}
        return {name: getattr(self, name) for name in kept}


OptionText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
# As KHR_materials_variants names it in the model: any text, kept as it is.
MaterialVariant = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class OptionBody(Body):
    name: OptionText
    values: Annotated[list[OptionText], Field(min_length=1, max_length=MAX_OPTION_VALUES)]


class VariantBody(Body):
    sku: Sku
    options: Annotated[dict[OptionText, OptionText], Field(max_length=MAX_OPTIONS)]
    price_cents: PriceCents | None = None
    status: Literal["active", "discontinued"] = "active"
    material_variant: MaterialVariant | None = None


class VariantsPut(Body):
    """A product's options and all of its variants, replacing those it had."""

    options: Annotated[list[OptionBody], Field(max_length=MAX_OPTIONS)]
    variants: Annotated[list[VariantBody], Field(max_length=MAX_VARIANTS)]

    def plan(self, sku: str) -> tuple[list[Option], list[Variant]]:
        """The options and variants of product `sku`, once they are ones a shopper can choose
        among (rules.check_variants)."""
        options = [Option(o.name, tuple(o.values)) for o in self.options]
        variants = [
            Variant(v.sku, v.options, v.price_cents, v.status, v.material_variant)
            for v in self.variants
        ]
        check_variants(sku, options, variants)
        return options, variants


ModelContentType = Annotated[str, StringConstraints(max_length=64)]
Filename = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^/\\\x00-\x1f]+$")
]


class UploadCreate(Body):
    filename: Filename
    content_type: ModelContentType
    bytes: Annotated[int, Field(ge=1)]


class ImageUploadCreate(UploadCreate):
    # What the photo shows, for those who cannot see it; empty for a purely decorative one.
    alt: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class UploadedPart(Body):
    part_number: Annotated[int, Field(ge=1, le=10_000)]
    etag: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class UploadComplete(Body):
    """`complete`'s optional body: the parts of a multipart upload, with the ETag S3 gave each."""

    parts: Annotated[list[UploadedPart], Field(min_length=1, max_length=10_000)] | None = None
