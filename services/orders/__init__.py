"""The orders service: checkout, orders and the inventory it owns."""
