from django.db import models
from django.utils.translation import gettext_lazy as _

from mamori.audit.labels import ACTOR_KIND_CHOICES


class LogEntry(models.Model):
    """One operation-log entry: who did what to which object, when, from where.

    Entries are written only by ``mamori.audit.services.log_records`` and never changed; each
    one's ``digest`` chains it to the contract's previous entry (``seq`` - 1), keyed with the
    audit key named by ``key_id`` (``""``: plain SHA-256, entries written before keys existed).
    """

    class Result(models.TextChoices):
        SUCCESS = "success", _("Success")
        FAILURE = "failure", _("Failure")

    # The composite indexes below all start with the contract: no single-column one is needed.
    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    seq = models.BigIntegerField(_("number"))
    created_at = models.DateTimeField(_("time"))
    # No foreign key constraint: an entry outlives the account it names.
    actor = models.ForeignKey(
        "accounts.Account",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    actor_kind = models.CharField(_("actor kind"), max_length=16, choices=ACTOR_KIND_CHOICES)
    actor_name = models.CharField(_("actor"), max_length=200, blank=True)
    actor_account_name = models.CharField(_("account"), max_length=150, blank=True)
    actor_privilege = models.CharField(_("admin privilege"), max_length=32, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)
    request_id = models.CharField(_("request ID"), max_length=64, blank=True)
    action = models.CharField(_("action"), max_length=64)
    target_type = models.CharField(_("target type"), max_length=64, blank=True)
    target_id = models.CharField(_("target ID"), max_length=64, blank=True)
    target_label = models.CharField(_("target"), max_length=200, blank=True)
    # Another object the entry is about (a command's device, an account's user): "entries about
    # this device" finds both the device's own entries and its commands'.
    related_type = models.CharField(
        _("related object type"), max_length=64, blank=True, default="", db_default=""
    )
    related_id = models.CharField(
        _("related object ID"), max_length=64, blank=True, default="", db_default=""
    )
    # The organization the target belongs to: scoped administrators see only their subtrees'.
    organization = models.ForeignKey(
        "directory.Organization",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=16, choices=Result.choices)
    prev_digest = models.CharField(max_length=64)
    digest = models.CharField(max_length=64)
    # The audit key the digest was made with (mamori.audit.keys); "" for plain SHA-256.
    key_id = models.CharField(max_length=16, blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("operation log entry")
        verbose_name_plural = _("operation log entries")
        constraints = [
            models.UniqueConstraint(fields=["contract", "seq"], name="log_seq_unique_in_contract"),
        ]
        # Every filter of the log screen has an index that starts with the contract and ends
        # with the keyset order (created_at, id).
        indexes = [
            models.Index(fields=["contract", "created_at", "id"], name="log_contract_time"),
            models.Index(
                fields=["contract", "actor", "created_at", "id"], name="log_contract_actor_time"
            ),
            models.Index(
                fields=["contract", "action", "created_at", "id"], name="log_contract_action_time"
            ),
            # Account and action together: without it, "this account's failed logins" walks
            # every entry of a busy account (200-340 ms at 400k entries; 0.2 ms with it).
            models.Index(
                fields=["contract", "actor", "action", "created_at", "id"],
                name="log_contract_actor_action",
            ),
            # Administrators scoped to organizations read by organization.
            models.Index(
                fields=["contract", "organization", "created_at", "id"],
                name="log_contract_org_time",
            ),
            # "Entries about this object": as the target, and as the related object.
            models.Index(
                fields=["contract", "target_type", "target_id", "created_at", "id"],
                name="log_contract_target_time",
            ),
            # Partial: most entries name no related object, and need not pay for this one.
            models.Index(
                fields=["contract", "related_type", "related_id", "created_at", "id"],
                name="log_contract_related_time",
                condition=~models.Q(related_type=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id}#{self.seq} {self.action}"


class LogChain(models.Model):
    """The head of a contract's log chain: the last entry's number and digest.

    Locked by every writer from its append to its commit, so entries of one contract are
    numbered and chained in turn. A deleted latest entry is detected against it; a deleted latest
    entry *with this row moved back* only against a checkpoint kept outside the database.
    """

    contract = models.OneToOneField(
        "contracts.Contract", on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    last_seq = models.BigIntegerField(default=0)
    last_digest = models.CharField(max_length=64, default="0" * 64)
    # Retention (mamori.audit.retention). The setting lives here rather than in a model of its
    # own: the chain's kept start (first_seq, first_prev_digest) must move under this row's lock
    # in the transaction that deletes the entries before it, as the head moves under it when
    # entries are added; the setting that drives it is one more column of the same per-contract
    # row (no join for the daily job, no second row to keep in step). Writers update only
    # last_seq and last_digest (``services._heads_save``): these columns are never overwritten.
    retention_months = models.PositiveSmallIntegerField(
        _("retention (months)"), null=True, blank=True
    )  # null: kept forever
    archive = models.BooleanField(_("archive before removing"), default=True)
    first_seq = models.BigIntegerField(default=1)  # the oldest kept entry's number
    first_prev_digest = models.CharField(max_length=64, default="0" * 64)  # its prev_digest

    def __str__(self) -> str:
        return f"{self.contract_id}#{self.last_seq}"


class LogCheckpoint(models.Model):
    """The chain head last written to the checkpoint file and log stream, per contract.

    Only says which heads moved since; the checkpoints themselves live outside the database
    (``mamori.audit.checkpoints``), where someone who can write to the database cannot reach them.
    """

    contract = models.OneToOneField(
        "contracts.Contract", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    seq = models.BigIntegerField()
    digest = models.CharField(max_length=64)
    written_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.contract_id}#{self.seq}"
