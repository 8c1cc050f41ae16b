"""The catalog's tables."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

# The service's own log of admin changes (petshore.audit): Tortoise finds it in this module.
from petshore.audit import AdminAction as AdminAction


class Category(Model):
    slug = fields.CharField(max_length=64, primary_key=True)
    name = fields.CharField(max_length=128)

    class Meta:
        table = "category"


class Product(Model):
    sku = fields.CharField(max_length=64, primary_key=True)
    name = fields.CharField(max_length=200)
    description = fields.TextField()
    category: fields.ForeignKeyRelation[Category] = fields.ForeignKeyField(
        "models.Category", related_name="products", on_delete=fields.RESTRICT
    )
    price_cents = fields.IntField()
    currency = fields.CharField(max_length=3)
    status = fields.CharField(max_length=16, default="active", db_index=True)
    # What a shopper chooses among ([{"name": "Colour", "values": ["Red", ...]}], in order);
    # None for a product sold as one SKU.
    options = fields.JSONField(null=True)
    # The published model: S3 keys below MODELS_KEY_PREFIX, content-addressed.
    model_glb_key = fields.CharField(max_length=255, null=True)
    model_poster_key = fields.CharField(max_length=255, null=True)
    model_preview_key = fields.CharField(max_length=255, null=True)
    model_bytes = fields.BigIntField(null=True)
    model_preview_bytes = fields.BigIntField(null=True)
    model_original_bytes = fields.BigIntField(null=True)
    # The model's AR files (Scene Viewer's GLB, Quick Look's USDZ), when they could be made.
    model_ar_key = fields.CharField(max_length=255, null=True)
    model_usdz_key = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    category_id: str

    class Meta:
        table = "product"


# One choice of a product's options, sold under its own SKU. Stock, carts and orders know it
# only by that SKU; the catalog answers for it as the product at the variant's price.
class ProductVariant(Model):
    sku = fields.CharField(max_length=64, primary_key=True)
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "models.Product", related_name="variants", on_delete=fields.CASCADE
    )
    position = fields.IntField()
    # {"Colour": "Red"}: one value of each of the product's options.
    options = fields.JSONField()
    # None: the product's price.
    price_cents = fields.IntField(null=True)
    status = fields.CharField(max_length=16, default="active")
    # The name, in the product's 3D model, of the KHR_materials_variants variant it shows.
    material_variant = fields.CharField(max_length=64, null=True)

    product_id: str

    class Meta:
        table = "product_variant"
        # A page of products reads all their variants at once.
        indexes = (("product_id", "position"),)


# A product's published photo; `position` orders a product's photos (0 first).
class ProductImage(Model):
    id = fields.CharField(max_length=40, primary_key=True)
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "models.Product", related_name="images", on_delete=fields.CASCADE
    )
    position = fields.IntField()
    # The main image: an S3 key below MEDIA_KEY_PREFIX, content-addressed.
    key = fields.CharField(max_length=255, db_index=True)
    width = fields.IntField()
    height = fields.IntField()
    bytes = fields.BigIntField()
    alt = fields.TextField()
    # [{"key", "format", "width", "height", "bytes"}], as petshore.modeljobs.PhotoVariant.
    variants = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    product_id: str

    class Meta:
        table = "product_image"


# An upload of either kind (petshore.modeljobs.Kind): a 3D model or a photo.
class ModelUpload(Model):
    id = fields.CharField(max_length=40, primary_key=True)
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "models.Product", related_name="uploads", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=16, default="model")
    # A photo's text alternative, given at the start and kept for the photo it becomes.
    alt = fields.TextField(null=True)
    filename = fields.CharField(max_length=255)
    content_type = fields.CharField(max_length=64)
    declared_bytes = fields.BigIntField()
    key = fields.CharField(max_length=255)
    # S3's id of the multipart upload offered for a large file (None: single PUT only).
    multipart_id = fields.CharField(max_length=1024, null=True)
    # pending | processing (a job is with the model worker) | done | failed
    status = fields.CharField(max_length=16, default="pending")
    error = fields.TextField(null=True)
    # A failure's kind (petshore.modeljobs.Outcome) and the file's faults, as the worker said.
    reason = fields.CharField(max_length=16, null=True)
    errors = fields.JSONField(null=True)
    # What the model pipeline did, step by step (name, ms, bytes in and out), once published.
    steps = fields.JSONField(null=True)
    # When the job was sent: a job older than every offer it can get has been given up.
    sent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    product_id: str

    class Meta:
        table = "model_upload"
