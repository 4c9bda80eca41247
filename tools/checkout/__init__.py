"""Checkout: quotes (what the shopper is asked to pay), the order state machine, confirm."""
