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


ACTOR_KIND_LABELS = {
    "operator": _("operator (CLI)"),
    "system": _("Mamori (system)"),
    "anonymous": _("not logged in"),
}
