from tortoise import migrations
from tortoise.migrations import operations as ops
from json import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0006_admin_actions")]

    initial = False

    operations = [
        ops.AddField(
            model_name="ModelUpload",
            name="steps",
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
    ]
