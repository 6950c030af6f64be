from django import template

from mamori.accounts.models import Account
from mamori.audit import labels, registry
from mamori.audit.models import LogEntry

register = template.Library()


# Lazy labels: built once, translated when shown.
PRIVILEGE_LABELS = dict(Account.Privilege.choices)


@register.filter
def action_label(code: str) -> str:
    return registry.action_label(code)


@register.filter
def privilege_label(code: str) -> str:
    return str(PRIVILEGE_LABELS.get(code, code))


@register.filter
def actor_label(entry: LogEntry) -> str:
    return labels.actor_label(entry.actor_kind, entry.actor_name, entry.actor_account_name)
