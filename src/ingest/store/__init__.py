"""Persistence: schema, engines and transactions, the crawler's URL memory."""
