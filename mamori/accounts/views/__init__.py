"""Pages of Mamori accounts, one module per slice."""
