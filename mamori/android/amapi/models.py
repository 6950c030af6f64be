"""The deployment-wide AMAPI limiter's counters (see ``limiter.py``).

The database is the one thing every web and worker process of a deployment shares, so the
budget lives here: one row per time slot (all calls made in it) and one per contract and slot.
Rows older than two windows are pruned by the first call of each new slot.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class QuotaSlot(models.Model):
    """The AMAPI calls made by the whole deployment in one slot (``number`` × slot length)."""

    number = models.BigIntegerField(_("slot"), primary_key=True)
    used = models.PositiveIntegerField(_("calls"), default=0)

    class Meta:
        verbose_name = _("AMAPI quota slot")
        verbose_name_plural = _("AMAPI quota slots")

    def __str__(self) -> str:
        return f"slot {self.number}: {self.used}"


class QuotaUse(models.Model):
    """One contract's AMAPI calls in one slot (``contract_key`` 0: calls made for no contract)."""

    slot = models.BigIntegerField(_("slot"))
    contract_key = models.BigIntegerField(_("contract"))
    used = models.PositiveIntegerField(_("calls"), default=0)

    class Meta:
        verbose_name = _("AMAPI quota use")
        verbose_name_plural = _("AMAPI quota uses")
        constraints = [
            models.UniqueConstraint(fields=["slot", "contract_key"], name="amapi_quota_use_unique")
        ]

    def __str__(self) -> str:
        return f"slot {self.slot}, contract {self.contract_key}: {self.used}"
