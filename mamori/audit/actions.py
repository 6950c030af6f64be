"""The catalogue of operation-log action codes and how a person reads them."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    CONTRACT_CREATED = "contract.created", _("Contract created")
    CONTRACT_SUSPENDED = "contract.suspended", _("Contract suspended")
    CONTRACT_RESUMED = "contract.resumed", _("Contract resumed")
    REGISTRATION_MAIL_ISSUED = "contract.registration_mail_issued", _("Registration mail issued")
    LOGIN = "account.login", _("Logged in")
    LOGIN_FAILED = "account.login_failed", _("Login failed")
    LOCKED_OUT = "account.locked_out", _("Account locked after failed logins")
    LOGOUT = "account.logout", _("Logged out")
    PASSWORD_CHANGED = "account.password_changed", _("Password changed")
    API_TOKEN_CREATED = "api_token.created", _("API token created")
    API_TOKEN_REVOKED = "api_token.revoked", _("API token revoked")
    CONTRACT_SETTINGS_UPDATED = "contract.settings_updated", _("Contract settings changed")
    ORGANIZATION_CREATED = "organization.created", _("Organization created")
    ORGANIZATION_RENAMED = "organization.renamed", _("Organization renamed")
    ORGANIZATION_MOVED = "organization.moved", _("Organization moved")
    ORGANIZATION_DELETED = "organization.deleted", _("Organization deleted")
    USER_CREATED = "user.created", _("User added")
    USER_UPDATED = "user.updated", _("User changed")
    USER_DELETED = "user.deleted", _("User deleted")
    USERS_IMPORTED = "user.imported", _("Users imported from CSV")
    ACCOUNT_CREATED = "account.created", _("Mamori account created")
    ACCOUNT_UPDATED = "account.updated", _("Mamori account changed")
    ACCOUNT_DISABLED = "account.disabled", _("Mamori account disabled")
    ACCOUNT_ENABLED = "account.enabled", _("Mamori account enabled")
    ACCOUNT_DELETED = "account.deleted", _("Mamori account deleted")
    PASSWORD_SET = "account.password_set", _("Password set from an invitation")
    TWO_FACTOR_ENABLED = "account.two_factor_enabled", _("Two-step verification turned on")
    TWO_FACTOR_DISABLED = "account.two_factor_disabled", _("Two-step verification turned off")
    TWO_FACTOR_RESET = "account.two_factor_reset", _("Two-step verification reset")
    BACKUP_CODE_USED = "account.backup_code_used", _("Backup code used")
    SCHEME_CREATED = "scheme.created", _("Permission scheme created")
    SCHEME_UPDATED = "scheme.updated", _("Permission scheme changed")
    SCHEME_DELETED = "scheme.deleted", _("Permission scheme deleted")
    INQUIRY_SENT = "inquiry.sent", _("Support inquiry sent")
    NOTICE_SENT = "notice.sent", _("Notice mail sent")
    BACKUP_CODES_REGENERATED = "account.backup_codes_regenerated", _("New backup codes made")


ACTOR_KIND_LABELS = {
    "operator": _("operator (CLI)"),
    "system": _("Mamori (system)"),
    "anonymous": _("not logged in"),
}
