from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

SUPPORT_OPTION_LIMIT = 5

# Top-level paths of the panel that a usage domain must not shadow.
RESERVED_DOMAINS = frozenset({"api", "static", "login", "logout", "i18n", "admin", "media", "www"})

domain_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$",
    _(
        "A usage domain is 3 to 63 characters of lowercase letters, digits and hyphens, "
        "and starts and ends with a letter or digit."
    ),
    code="invalid_domain",
)


class Contract(models.Model):
    """One customer company; everything in the panel belongs to exactly one contract."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    domain = models.CharField(
        _("usage domain"), max_length=63, unique=True, validators=[domain_validator]
    )
    company_name = models.CharField(_("company"), max_length=200)
    contact_name = models.CharField(_("contact person"), max_length=200)
    contact_furigana = models.CharField(_("contact person (furigana)"), max_length=200)
    contact_email = models.EmailField(_("contact e-mail address"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    require_two_factor = models.BooleanField(
        _("require two-step verification for all accounts"), default=False
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE
