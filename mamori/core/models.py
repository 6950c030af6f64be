"""The ground floor's tables: durable background work and the slots of periodic jobs.

Core imports no domain app, so a work row names its contract by id only.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Work(models.Model):
    """One piece of background work: the database is the truth, the task queue only a nudge.

    A worker claims a pending row (status ``running``, a lease and a fresh claim token), commits,
    runs the handler registered for ``kind`` with no transaction open, and records the outcome
    only if its token still matches (``mamori.core.work``).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=100)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    contract_id = models.BigIntegerField(_("contract"), null=True, blank=True, db_index=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    claim_token = models.CharField(_("claim token"), max_length=32, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    # Actor.serialize(): who asked for the work, checked again when it runs.
    actor = models.JSONField(_("actor"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("work")
        verbose_name_plural = _("work")
        indexes = [
            # Recovery: pending work that is due (and whose task may have been lost)…
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="work_pending_due",
            ),
            # …and running work whose lease ran out.
            models.Index(
                fields=["lease_until"], condition=Q(status="running"), name="work_running_lease"
            ),
            # Pruning finished work.
            models.Index(
                fields=["finished_at"],
                condition=Q(status__in=["done", "failed"]),
                name="work_finished",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "running", "done", "failed"]),
                name="work_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"


class PeriodicSlot(models.Model):
    """A periodic job's claim on one slot of its schedule: one row, so the job runs once."""

    job = models.CharField(_("job"), max_length=100)
    slot = models.DateTimeField(_("slot"))
    work = models.OneToOneField(
        Work, null=True, blank=True, on_delete=models.CASCADE, related_name="periodic_slot"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("periodic job slot")
        verbose_name_plural = _("periodic job slots")
        constraints = [
            models.UniqueConstraint(fields=["job", "slot"], name="periodic_slot_once"),
        ]
        indexes = [models.Index(fields=["slot"], name="periodic_slot_time")]

    def __str__(self) -> str:
        return f"{self.job} @ {self.slot.isoformat()}"


class Submission(models.Model):
    """A one-time form token that was used: the form it came with is saved once only.

    ``key`` names the form, the account and the token (``users.add:<account>:<token>``);
    ``object_id`` is what the save made. Rows older than a day are pruned (``core.once``).
    """

    key = models.CharField(_("key"), max_length=200, unique=True)
    object_id = models.BigIntegerField(_("object"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")

    def __str__(self) -> str:
        return self.key

    def done(self, object_id: int) -> None:
        """Record what the save made, in the caller's transaction."""
        self.object_id = object_id
        self.save(update_fields=["object_id"])
