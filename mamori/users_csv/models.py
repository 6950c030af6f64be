from django.db import models
from django.utils.translation import gettext_lazy as _


class UserImport(models.Model):
    """One CSV import of users: checked whole first, then applied all at once by durable work."""

    class Mode(models.TextChoices):
        ADD = "add", _("Add only")
        UPSERT = "upsert", _("Add or update")

    class Status(models.TextChoices):
        CHECKING = "checking", _("Checking")
        INVALID = "invalid", _("Errors found")
        READY = "ready", _("Checked: ready to import")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(
        "accounts.Account", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    mode = models.CharField(_("mode"), max_length=16, choices=Mode.choices)
    filename = models.CharField(_("file name"), max_length=255)
    content = models.TextField(blank=True)  # the decoded CSV, cleared when the import ends
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        # The table it had when it lived in the directory app.
        db_table = "directory_userimport"
        verbose_name = _("user import")
        verbose_name_plural = _("user imports")

    def __str__(self) -> str:
        return self.filename
