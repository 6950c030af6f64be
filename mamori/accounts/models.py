import zoneinfo
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

LANGUAGE_CHOICES = [("ja", "日本語"), ("en", "English")]


# What an administrator sets on a Mamori account (besides its scope organizations, scheme and
# password): the account form's initial values, the log's values and the API's schemas.
ACCOUNT_FIELDS = (
    "name",
    "privilege",
    "support_option",
    "receive_notice_mail",
    "language",
    "timezone",
    "scope_all",
)


class AccountManager(BaseUserManager["Account"]):
    pass


class Account(AbstractBaseUser):
    """A user's login to the panel, with privilege, language and timezone."""

    class Privilege(models.TextChoices):
        SYSTEM_ADMIN = "system_admin", _("System administrator")
        DEPARTMENT_ADMIN = "department_admin", _("Department administrator")
        OPERATOR = "operator", _("Operator")
        CUSTOM_ADMIN = "custom_admin", _("Custom administrator")

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="accounts"
    )
    user = models.OneToOneField("directory.User", on_delete=models.PROTECT, related_name="account")
    name = models.CharField(_("account name"), max_length=150)
    privilege = models.CharField(_("admin privilege"), max_length=32, choices=Privilege.choices)
    support_option = models.BooleanField(_("support option"), default=False)
    receive_notice_mail = models.BooleanField(_("receive notice mail"), default=False)
    language = models.CharField(_("language"), max_length=8, choices=LANGUAGE_CHOICES, default="ja")
    timezone = models.CharField(_("timezone"), max_length=64, default="Asia/Tokyo")
    # Department and custom administrators: the organizations they manage, with their subtrees.
    scope_all = models.BooleanField(_("all organizations"), default=False)
    scope_organizations = models.ManyToManyField(
        "directory.Organization",
        blank=True,
        related_name="scope_accounts",
        verbose_name=_("organizations"),
    )
    scheme = models.ForeignKey(
        "accounts.PermissionScheme",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accounts",
        verbose_name=_("permission scheme"),
    )
    is_active = models.BooleanField(_("enabled"), default=True)
    must_change_password = models.BooleanField(_("must change password"), default=False)
    # Two-step verification: the TOTP secret, confirmed once the person proved they scanned it.
    totp_secret = models.CharField(max_length=64, blank=True, editable=False)
    totp_confirmed_at = models.DateTimeField(
        _("two-step verification since"), null=True, blank=True
    )
    # The time step of the last code accepted: a code (or an earlier one) is never good twice.
    totp_last_step = models.BigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    USERNAME_FIELD = "name"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = AccountManager()

    class Meta:
        verbose_name = _("Mamori account")
        verbose_name_plural = _("Mamori accounts")
        constraints = [
            # One name in any letter case (``accounts.names``): ``Admin`` and ``admin`` are one
            # account. The services check first for a clear message; this functional index
            # decides when two saves come at the same moment, and serves the login's lookup.
            models.UniqueConstraint(
                "contract", Lower("name"), name="account_name_ci_unique_in_contract"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        return self.user.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_confirmed_at is not None

    @property
    def two_factor_setup_due(self) -> bool:
        """The contract requires two-step verification and this account has not set it up."""
        return self.contract.require_two_factor and not self.two_factor_enabled

    @property
    def is_system_admin(self) -> bool:
        return self.privilege == self.Privilege.SYSTEM_ADMIN

    # Access (the ``core.access.Principal`` protocol) -----------------------------------------

    @property
    def permissions(self) -> frozenset[str]:
        """The permission codes this account's privilege or scheme grants."""
        from mamori.accounts.permissions import permissions_of

        return permissions_of(self)

    @property
    def scope_paths(self) -> list[str] | None:
        """Path prefixes of the organization subtrees it manages; ``None`` means all of them.

        Read once per instance (one query for department and custom administrators);
        ``scope_forget()`` after changing the privilege or scope.
        """
        if "_scope_paths" not in self.__dict__:
            self.__dict__["_scope_paths"] = self._scope_paths_read()
        paths: list[str] | None = self.__dict__["_scope_paths"]
        return paths

    def _scope_paths_read(self) -> list[str] | None:
        if self.privilege == self.Privilege.SYSTEM_ADMIN:
            return None
        if self.privilege == self.Privilege.OPERATOR:
            return [self.user.organization.path]
        if self.privilege == self.Privilege.CUSTOM_ADMIN and self.scope_all:
            return None
        return list(self.scope_organizations.values_list("path", flat=True))

    def scope_forget(self) -> None:
        """Drop the scope read by ``scope_paths`` (after the account's scope changed)."""
        self.__dict__.pop("_scope_paths", None)

    def manages(self, other: Any) -> bool:
        """Whose account it may change: a System administrator anyone's; the others only
        Operators' (the only privilege they can give), so nobody reaches a wider scope."""
        return self.is_system_admin or getattr(other, "privilege", None) == self.Privilege.OPERATOR


class BackupCode(models.Model):
    """A one-time two-step verification code, kept as a hash; used at most once."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="backup_codes")
    digest = models.CharField(max_length=128)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"backup code of {self.account_id}"


class PermissionScheme(models.Model):
    """A named set of permissions (screen × action) for custom administrators."""

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("scheme name"), max_length=100)
    permissions = models.JSONField(_("permissions"), default=list)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("custom permission scheme")
        verbose_name_plural = _("custom permission schemes")
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "name"], name="scheme_name_unique_in_contract"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer token an account made for API clients; only its SHA-256 is stored."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class LoginFailure(models.Model):
    """One failed login, kept for throttling by account name and by IP address."""

    domain = models.CharField(max_length=63)
    account_name = models.CharField(max_length=150)
    ip = models.GenericIPAddressField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["domain", "account_name", "created_at"]),
            models.Index(fields=["ip", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.domain}/{self.account_name}"
