"""``mamori amapi-sandbox``: the name as typed (Django finds commands by module name)."""

from mamori.android.management.commands.amapi_sandbox import Command

__all__ = ["Command"]
