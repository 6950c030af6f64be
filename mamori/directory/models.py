from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mamori.core.text import fold


class Organization(models.Model):
    """A node of a contract's organization tree; the root has no parent."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="organizations"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    name = models.CharField(_("organization name"), max_length=200)
    # "/<root id>/…/<own id>/": a subtree is one indexed prefix match, whatever its depth.
    path = models.CharField(max_length=1000, db_index=True, editable=False, default="")
    # Users directly in it, kept by the services that add, move and delete users (and recounted
    # after a CSV import): the tree shows counts without counting 100,000 users per page view.
    user_count = models.PositiveIntegerField(default=0, editable=False)
    # The order an administrator set among its siblings (up/down in the tree); 0 is "not set",
    # and such siblings follow in reading order (directory.selectors.reading_key).
    position = models.PositiveIntegerField(_("position"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        indexes = [models.Index(fields=["contract", "path"], name="org_contract_path")]
        constraints = [
            models.UniqueConstraint(
                fields=["contract"], condition=Q(parent__isnull=True), name="one_root_per_contract"
            ),
            # Siblings have different names: a path of names ("ACME / 営業部 / 東京", as the CSV
            # writes it) names one organization. The services check first for a clear message;
            # this holds when two people save at once.
            models.UniqueConstraint(fields=["parent", "name"], name="organization_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2

    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/")[:-1]]


# What a person enters for a user (besides the organization and e-mail addresses): the Add User
# form's initial values, the log's before/after values, the API's schemas and the CSV's columns
# all come from this list.
USER_FIELDS = ("name", "furigana", "employee_code", "title", "phone", "mobile_phone")


def reading_key(furigana: str) -> str:
    """A reading without its spaces: ``スズキイチロウ`` finds ``スズキ イチロウ`` from the start."""
    return furigana.replace("\u3000", "").replace(" ", "")


def address_key(address: str) -> str:
    """An e-mail address as uniqueness compares it: in any letter case."""
    return address.strip().casefold()


class User(models.Model):
    """A person in Users/Org; may or may not have a Mamori account."""

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="users", verbose_name=_("organization")
    )
    name = models.CharField(_("name"), max_length=200)
    furigana = models.CharField(_("furigana"), max_length=200, blank=True)
    employee_code = models.CharField(_("employee code"), max_length=64, blank=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    phone = models.CharField(_("phone number"), max_length=40, blank=True)
    mobile_phone = models.CharField(_("mobile phone number"), max_length=40, blank=True)
    # What searches compare, kept by save() (and by the CSV import's bulk writes): the name
    # folded (``core.text.fold``: NFKC, any case, no spaces) and the reading without spaces.
    name_key = models.TextField(blank=True, default="", editable=False)
    furigana_key = models.CharField(max_length=200, blank=True, default="", editable=False)
    # The main e-mail address in any letter case (``address_key``), kept by the services with
    # the addresses: one per contract, whoever saves at the same moment. Empty: none, or a
    # duplicate found when the column was added (see migration 0010).
    main_address_key = models.TextField(blank=True, default="", editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "employee_code"],
                condition=~Q(employee_code=""),
                name="employee_code_unique_in_contract",
            ),
            # Two people never share a main address (in any letter case): the services check
            # first for a clear message; this decides when two administrators save at once.
            models.UniqueConstraint(
                fields=["contract", "main_address_key"],
                condition=~Q(main_address_key=""),
                name="user_main_address_unique_in_contract",
            ),
        ]
        indexes = [
            # The default order (furigana, then id) within a contract or an organization.
            models.Index(fields=["contract", "furigana", "id"], name="user_contract_furigana"),
            models.Index(
                fields=["contract", "organization", "furigana", "id"], name="user_contract_org"
            ),
            # The user list's other sort orders (keyset pages, either direction).
            models.Index(fields=["contract", "name", "id"], name="user_contract_name"),
            models.Index(fields=["contract", "employee_code", "id"], name="user_contract_code"),
            # Furigana prefix search (LIKE 'ヤマ%'), spaces left out, whatever PostgreSQL's
            # collation; other databases ignore the operator class.
            models.Index(
                fields=["contract", "furigana_key"],
                name="user_furigana_key_prefix",
                opclasses=["", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, with the search keys of the name and furigana brought up to date."""
        self.name_key, self.furigana_key = fold(self.name), reading_key(self.furigana)
        fields = kwargs.get("update_fields")
        if fields is not None and {"name", "furigana"} & set(fields):
            kwargs["update_fields"] = {*fields, "name_key", "furigana_key"}
        super().save(*args, **kwargs)

    @property
    def main_email(self) -> str:
        for email in self.emails.all():
            if email.category == UserEmail.Category.MAIN:
                return email.address
        return ""


class UserEmail(models.Model):
    """One of a user's e-mail addresses; exactly one per user is main."""

    class Category(models.TextChoices):
        MAIN = "main", _("Main")
        WORK = "work", _("Work")
        PERSONAL = "personal", _("Personal")
        OTHER = "other", _("Other")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="emails")
    address = models.EmailField(_("e-mail address"))
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)

    class Meta:
        verbose_name = _("e-mail address")
        verbose_name_plural = _("e-mail addresses")
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(category="main"), name="one_main_email_per_user"
            ),
            models.UniqueConstraint(fields=["user", "address"], name="email_unique_per_user"),
        ]

    def __str__(self) -> str:
        return self.address
