from django.db import models
from django.utils.translation import gettext_lazy as _


class Inquiry(models.Model):
    """A question a support-option account sent to the service's support desk."""

    class Category(models.TextChoices):
        USAGE = "usage", _("How to use")
        TROUBLE = "trouble", _("Trouble or error")
        CONTRACT = "contract", _("Contract and billing")
        REQUEST = "request", _("Feature request")
        OTHER = "other", _("Other")

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(
        "accounts.Account", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    sender_name = models.CharField(_("sender"), max_length=200)
    sender_email = models.EmailField(_("reply to"))
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("support inquiry")
        verbose_name_plural = _("support inquiries")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.subject

    @property
    def reference(self) -> str:
        return f"INQ-{self.pk:06d}"
