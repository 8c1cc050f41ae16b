from tortoise import migrations
from tortoise.migrations import operations as ops
from json import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0003_previews_and_multipart")]

    initial = False

    operations = [
        ops.AddField(
            model_name="ModelUpload",
            name="errors",
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name="ModelUpload",
            name="reason",
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name="ModelUpload",
            name="sent_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
