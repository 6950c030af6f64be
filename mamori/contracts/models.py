import unicodedata

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from mamori.core.toplevel import taken_paths

SUPPORT_OPTION_LIMIT = 5

# Names no URL uses yet that no contract may take either: Django's admin, media files, a www
# host and the old top-level logout.
FUTURE_RESERVED_DOMAINS = frozenset({"admin", "logout", "media", "www"})


def reserved_domains() -> frozenset[str]:
    """The usage domains a contract may not take, as a set of lowercase path segments.

    Every fixed first path segment the URL configuration serves outside ``/<domain>/`` (the
    root URLconf but its ``<slug:domain>/`` pattern, the public URLconf, ``STATIC_URL``), read
    from the URLconfs on each call so that a new top-level path is reserved as soon as it
    exists, plus ``FUTURE_RESERVED_DOMAINS``. The ``contracts`` system checks report a contract
    whose domain became reserved.
    """
    return taken_paths() | FUTURE_RESERVED_DOMAINS


def domain_key(text: str) -> str:
    """A usage domain as typed (``" ＡＣＭＥ"``, ``"Acme"``) in its stored form (``"acme"``):
    NFKC (full-width letters and digits become ASCII), surrounding spaces dropped, lowercase.
    What comes out may still be invalid; ``domain_validator`` says so."""
    return unicodedata.normalize("NFKC", text).strip().lower()


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
    # How long a device command waits for its device before it expires (Android Enterprise):
    # sent to AMAPI as Command.duration, the time left (AMAPI's own default is 10 minutes).
    command_expiry_days = models.PositiveSmallIntegerField(
        _("device commands expire after (days)"), default=7
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


class DataVersion(models.Model):
    """A counter per contract and kind of data that the database raises itself whenever that
    data changes (``contracts.versions``): the key of what is cached from it.

    Written only by database triggers, in the transaction of the change (the directory's
    migration 0013 installs those of ``"organizations"``), never by Python. ``contract_id`` is a
    plain column, not a foreign key: a trigger may write it while the contract is being deleted.
    """

    contract_id = models.BigIntegerField()
    kind = models.CharField(max_length=40)
    version = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contract_id", "kind"], name="data_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.contract_id}:{self.kind}={self.version}"
