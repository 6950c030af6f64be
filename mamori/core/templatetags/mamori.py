from django import template

from mamori.accounts.models import Account
from mamori.audit.actions import ACTOR_KIND_LABELS, Action
from mamori.audit.models import LogEntry

register = template.Library()


@register.filter
def action_label(code: str) -> str:
    return str(dict(Action.choices).get(code, code))


@register.filter
def privilege_label(code: str) -> str:
    return str(dict(Account.Privilege.choices).get(code, code))


@register.filter
def actor_label(entry: LogEntry) -> str:
    if entry.actor_name:
        return f"{entry.actor_name} ({entry.actor_account_name})"
    return str(ACTOR_KIND_LABELS.get(entry.actor_kind, entry.actor_kind))
