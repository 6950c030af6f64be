from django import template

from mamori.accounts.models import Account
from mamori.audit.actions import ACTOR_KIND_LABELS, Action
from mamori.audit.models import LogEntry

register = template.Library()


# Lazy labels: built once, translated when shown.
ACTION_LABELS = dict(Action.choices)
PRIVILEGE_LABELS = dict(Account.Privilege.choices)


@register.filter
def action_label(code: str) -> str:
    return str(ACTION_LABELS.get(code, code))


@register.filter
def privilege_label(code: str) -> str:
    return str(PRIVILEGE_LABELS.get(code, code))


@register.filter
def actor_label(entry: LogEntry) -> str:
    if entry.actor_name:
        return f"{entry.actor_name} ({entry.actor_account_name})"
    return str(ACTOR_KIND_LABELS.get(entry.actor_kind, entry.actor_kind))
