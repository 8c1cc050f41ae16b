from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0002_model_uploads")]

    initial = False

    operations = [
        ops.AddField(
            model_name="ModelUpload",
            name="multipart_id",
            field=fields.CharField(null=True, max_length=1024),
        ),
        ops.AddField(
            model_name="Product",
            name="model_preview_bytes",
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name="Product",
            name="model_preview_key",
            field=fields.CharField(null=True, max_length=255),
        ),
    ]
