"""Runs the whole storefront on one machine: `make run` locally, and the test suite's
session fixtures, start the same processes the same way."""
