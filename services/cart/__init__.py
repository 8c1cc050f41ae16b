"""The cart service: shoppers' carts in DynamoDB, one item per cart."""
