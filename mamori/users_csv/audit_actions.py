"""The operation-log action of the users CSV import, and what it may record."""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from mamori.audit.registry import action_register, key_labels_register, value_labels_register
from mamori.users_csv.models import UserImport


class UsersCsvAction(StrEnum):
    USERS_IMPORTED = "user.imported"


# What an import did, with the file's name and mode; never a row of the file.
IMPORT_RESULT = (
    "created",
    "updated",
    "unchanged",
    "organizations_created",
    "accounts_created",
    "invitations_sent",
    "file",
    "mode",
)


def audit_actions_register() -> None:
    """Called from ``UsersCsvConfig.ready()``."""
    action_register(
        UsersCsvAction.USERS_IMPORTED, _("Users imported from CSV"), after=IMPORT_RESULT
    )
    key_labels_register(
        {
            "created": _("Users added"),
            "updated": _("Users updated"),
            "unchanged": _("Users unchanged"),
            "organizations_created": _("Organizations created"),
            "accounts_created": _("Mamori accounts created"),
            "invitations_sent": _("Invitation mails sent"),
            "file": _("File"),
            "mode": _("Mode"),
        }
    )
    value_labels_register("mode", dict(UserImport.Mode.choices))
