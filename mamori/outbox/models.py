from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboundMail(models.Model):
    """A mail waiting to leave, or gone; its ``mail.deliver`` work row delivers it.

    The body is kept only until the SMTP server has accepted it (or refused it for good): it may
    carry a password. Status, attempts and errors are the work row's; once finished work is
    pruned, a mail without ``sent_at`` is one that failed.
    """

    contract = models.ForeignKey(
        "contracts.Contract", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=64)
    to = models.EmailField(_("to"))
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("body"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    work = models.OneToOneField(
        "core.Work",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("work"),
    )

    class Meta:
        verbose_name = _("outbound mail")
        verbose_name_plural = _("outbound mail")

    def __str__(self) -> str:
        return f"{self.kind} to {self.to}"

    @property
    def status(self) -> str:
        """``sent``, or the work's ``pending`` / ``running`` / ``failed``."""
        if self.sent_at is not None:
            return "sent"
        return self.work.status if self.work is not None else "failed"

    @property
    def attempts(self) -> int | None:
        """Tries so far (the work's); None once finished work was pruned."""
        return self.work.attempts if self.work is not None else None

    @property
    def last_error(self) -> str:
        """Why the last try failed (the work's), or ``""``."""
        return self.work.last_error if self.work is not None else ""
