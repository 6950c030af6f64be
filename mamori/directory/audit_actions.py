"""The operation-log actions the directory app (Users/Org) writes, and what each may record."""

import re
from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from mamori.audit.registry import action_register, key_labels_register, value_labels_register
from mamori.directory.models import USER_FIELDS, UserEmail


class DirectoryAction(StrEnum):
    ORGANIZATION_CREATED = "organization.created"
    ORGANIZATION_RENAMED = "organization.renamed"
    ORGANIZATION_MOVED = "organization.moved"
    ORGANIZATION_DELETED = "organization.deleted"
    ORGANIZATION_REORDERED = "organization.reordered"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DELETED = "user.deleted"


# A user's recorded values (``directory.services._user_values``): the addresses as
# "address (category)" strings.
USER_VALUES = (*USER_FIELDS, "organization", "emails")


def audit_actions_register() -> None:
    """Called from ``DirectoryConfig.ready()``."""
    A = DirectoryAction
    action_register(A.ORGANIZATION_CREATED, _("Organization created"), after=("name", "parent"))
    action_register(
        A.ORGANIZATION_RENAMED, _("Organization renamed"), before=("name",), after=("name",)
    )
    action_register(
        A.ORGANIZATION_MOVED, _("Organization moved"), before=("parent",), after=("parent",)
    )
    action_register(A.ORGANIZATION_DELETED, _("Organization deleted"), before=("name", "parent"))
    action_register(
        A.ORGANIZATION_REORDERED,
        _("Organization order changed"),
        before=("position",),
        after=("position",),
    )
    action_register(A.USER_CREATED, _("User added"), after=USER_VALUES)
    action_register(A.USER_UPDATED, _("User changed"), before=USER_VALUES, after=USER_VALUES)
    action_register(A.USER_DELETED, _("User deleted"), before=USER_VALUES)
    key_labels_register(
        {
            "name": _("Name"),
            "furigana": _("Furigana"),
            "employee_code": _("Employee code"),
            "title": _("Title"),
            "phone": _("Phone number"),
            "mobile_phone": _("Mobile phone number"),
            "organization": _("Organization"),
            "emails": _("E-mail address"),
            "parent": _("Parent organization"),
            "position": _("Position"),
        }
    )
    value_labels_register("emails", _email_labels)


_EMAIL = re.compile(r"^(?P<address>.*) \((?P<category>[a-z]+)\)$")


def _email_labels(value: str) -> str | None:
    """A logged address "a@example.com (main)" with its category in the active language."""
    match = _EMAIL.match(value)
    category = dict(UserEmail.Category.choices).get(match["category"]) if match else None
    return f"{match['address']} ({category})" if match and category else None
