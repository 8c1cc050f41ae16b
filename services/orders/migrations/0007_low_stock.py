from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0006_checkout_pricing")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Inventory",
            index=Index(fields=["available", "sku"]),
        ),
    ]
