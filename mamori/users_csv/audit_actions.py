"""The operation-log action of the users CSV import, and what it may record."""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from mamori.audit.registry import action_register


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
