"""Routers, one module per area; each stays thin over its domain's services."""
