"""The orders whose email is still due, indexed apart: the mail sender looks for them every
half second (services/orders/store.unsent_notices)."""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0007_low_stock")]

    initial = False

    operations = [
        ops.RunSQL(
            [
                'CREATE INDEX "order_confirmation_due" ON "order" (paid_at)'
                " WHERE status = 'paid' AND confirmation_sent_at IS NULL",
                'CREATE INDEX "order_shipping_due" ON "order" (fulfilled_at)'
                " WHERE status = 'fulfilled' AND shipping_sent_at IS NULL",
            ],
            reverse_sql=[
                'DROP INDEX "order_confirmation_due"',
                'DROP INDEX "order_shipping_due"',
            ],
        ),
    ]
