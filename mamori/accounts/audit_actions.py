"""The operation-log actions the accounts app writes, and what each may record.

No allow-list names a password, a TOTP secret, a backup code or an API token (the registry
refuses such names): what was done is recorded ("password_changed", "two_factor", a token's
public prefix), never the secret.
"""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from mamori.accounts.models import ACCOUNT_FIELDS, LANGUAGE_CHOICES, Account
from mamori.audit.registry import action_register, key_labels_register, value_labels_register
from mamori.core.access import catalogue
from mamori.core.timezones import timezone_display


class AccountAction(StrEnum):
    LOGIN = "account.login"
    LOGIN_FAILED = "account.login_failed"
    LOCKED_OUT = "account.locked_out"
    LOGOUT = "account.logout"
    PASSWORD_CHANGED = "account.password_changed"  # noqa: S105 (a code)
    PASSWORD_SET = "account.password_set"  # noqa: S105 (a code)
    PREFERENCES_CHANGED = "account.preferences_changed"
    API_TOKEN_CREATED = "api_token.created"  # noqa: S105 (a code)
    API_TOKEN_REVOKED = "api_token.revoked"  # noqa: S105 (a code)
    ACCOUNT_CREATED = "account.created"
    ACCOUNT_UPDATED = "account.updated"
    ACCOUNT_DISABLED = "account.disabled"
    ACCOUNT_ENABLED = "account.enabled"
    ACCOUNT_DELETED = "account.deleted"
    TWO_FACTOR_ENABLED = "account.two_factor_enabled"
    TWO_FACTOR_DISABLED = "account.two_factor_disabled"
    TWO_FACTOR_RESET = "account.two_factor_reset"
    BACKUP_CODE_USED = "account.backup_code_used"
    BACKUP_CODES_REGENERATED = "account.backup_codes_regenerated"
    # Written here (the contract's security settings live with two-step verification).
    CONTRACT_SETTINGS_UPDATED = "contract.settings_updated"
    SCHEME_CREATED = "scheme.created"
    SCHEME_UPDATED = "scheme.updated"
    SCHEME_DELETED = "scheme.deleted"


# An account's recorded values (``administration._account_values``).
ACCOUNT_VALUES = (*ACCOUNT_FIELDS, "scope", "scheme", "enabled")
SCHEME_VALUES = ("name", "permissions")


def audit_actions_register() -> None:
    """Called from ``AccountsConfig.ready()``."""
    A, register = AccountAction, action_register
    register(A.LOGIN, _("Logged in"), after=("two_factor",))
    register(A.LOGIN_FAILED, _("Login failed"), after=("reason",))
    register(A.LOCKED_OUT, _("Account locked after failed logins"), after=("locked_minutes",))
    register(A.LOGOUT, _("Logged out"))
    register(A.PASSWORD_CHANGED, _("Password changed"))
    register(A.PASSWORD_SET, _("Password set from an invitation"))
    register(
        A.PREFERENCES_CHANGED,
        _("Own language or timezone changed"),
        before=("language", "timezone"),
        after=("language", "timezone"),
    )
    register(A.API_TOKEN_CREATED, _("API token created"), after=("name", "prefix", "expires_at"))
    # reason: "password_reset" or "account_disabled" when an administrator's change revoked it.
    register(A.API_TOKEN_REVOKED, _("API token revoked"), after=("prefix", "reason"))
    register(A.ACCOUNT_CREATED, _("Mamori account created"), after=ACCOUNT_VALUES)
    register(
        A.ACCOUNT_UPDATED,
        _("Mamori account changed"),
        before=ACCOUNT_VALUES,
        after=(*ACCOUNT_VALUES, "password_changed"),
    )
    register(
        A.ACCOUNT_DISABLED, _("Mamori account disabled"), before=("enabled",), after=("enabled",)
    )
    register(
        A.ACCOUNT_ENABLED, _("Mamori account enabled"), before=("enabled",), after=("enabled",)
    )
    register(A.ACCOUNT_DELETED, _("Mamori account deleted"), before=ACCOUNT_VALUES)
    register(
        A.TWO_FACTOR_ENABLED,
        _("Two-step verification turned on"),
        before=("two_factor",),
        after=("two_factor",),
    )
    register(
        A.TWO_FACTOR_DISABLED,
        _("Two-step verification turned off"),
        before=("two_factor",),
        after=("two_factor", "verified_with"),
    )
    register(
        A.TWO_FACTOR_RESET,
        _("Two-step verification reset"),
        before=("two_factor",),
        after=("two_factor",),
    )
    register(A.BACKUP_CODE_USED, _("Backup code used"), after=("remaining",))
    register(
        A.BACKUP_CODES_REGENERATED, _("New backup codes made"), after=("count", "verified_with")
    )
    register(
        A.CONTRACT_SETTINGS_UPDATED,
        _("Contract settings changed"),
        before=("require_two_factor",),
        after=("require_two_factor",),
    )
    register(A.SCHEME_CREATED, _("Permission scheme created"), after=SCHEME_VALUES)
    register(
        A.SCHEME_UPDATED, _("Permission scheme changed"), before=SCHEME_VALUES, after=SCHEME_VALUES
    )
    register(A.SCHEME_DELETED, _("Permission scheme deleted"), before=SCHEME_VALUES)
    audit_labels_register()


def audit_labels_register() -> None:
    """How the keys of the accounts app's entries read on the log entry page."""
    key_labels_register(
        {
            "name": _("Name"),
            "privilege": _("Admin privilege"),
            "support_option": _("Support option"),
            "receive_notice_mail": _("Receive notice mail"),
            "language": _("Language"),
            "timezone": _("Timezone"),
            "scope_all": _("All organizations"),
            "scope": _("Organizations it manages"),
            "scheme": _("Permission scheme"),
            "enabled": _("Enabled"),
            "password_changed": _("Password changed"),
            "two_factor": _("Two-step verification"),
            "verified_with": _("Verified with"),
            "reason": _("Reason"),
            "locked_minutes": _("Locked for (minutes)"),
            "prefix": _("Token prefix"),
            "expires_at": _("Expires"),
            "remaining": _("Backup codes left"),
            "count": _("Number"),
            "require_two_factor": _("Require two-step verification"),
            "permissions": _("Permissions"),
        }
    )
    value_labels_register("privilege", dict(Account.Privilege.choices))
    # A fixed zone as people write it (UTC+09:00), not IANA's inverted Etc/GMT-9.
    value_labels_register("timezone", lambda zone: timezone_display(zone) if zone else None)
    value_labels_register("language", dict(LANGUAGE_CHOICES))
    value_labels_register(
        "reason",
        {
            "invalid": _("Wrong account or password"),
            "invalid_code": _("Wrong authentication code"),
            "locked": _("Account locked"),
            "ip_limited": _("Too many failures from the network"),
            "disabled": _("Account disabled"),
            "suspended": _("Contract suspended"),
        },
    )
    methods = {"totp": _("Authenticator app"), "backup_code": _("Backup code")}
    value_labels_register("two_factor", methods)
    value_labels_register("verified_with", methods)
    value_labels_register("permissions", lambda code: dict(catalogue.choices()).get(code))
