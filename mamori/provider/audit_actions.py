"""The operation-log actions of contracts (written by the provider app), and what each may record."""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from mamori.audit.registry import action_register, key_labels_register, value_labels_register
from mamori.contracts.models import Contract


class ContractAction(StrEnum):
    CONTRACT_CREATED = "contract.created"
    CONTRACT_SUSPENDED = "contract.suspended"
    CONTRACT_RESUMED = "contract.resumed"
    REGISTRATION_MAIL_ISSUED = "contract.registration_mail_issued"


def audit_actions_register() -> None:
    """Called from ``ProviderConfig.ready()``."""
    A = ContractAction
    action_register(
        A.CONTRACT_CREATED,
        _("Contract created"),
        after=(
            "domain",
            "company_name",
            "contact_name",
            "contact_email",
            "account",
            "language",
            "timezone",
        ),
    )
    action_register(
        A.CONTRACT_SUSPENDED, _("Contract suspended"), before=("status",), after=("status",)
    )
    action_register(
        A.CONTRACT_RESUMED, _("Contract resumed"), before=("status",), after=("status",)
    )
    # The mail's address and outbox id; never the generated password it carries.
    action_register(
        A.REGISTRATION_MAIL_ISSUED, _("Registration mail issued"), after=("to", "mail_id")
    )
    key_labels_register(
        {
            "domain": _("Usage domain"),
            "company_name": _("Company"),
            "contact_name": _("Contact person"),
            "contact_email": _("Contact e-mail address"),
            "account": _("Account"),
            "language": _("Language"),
            "timezone": _("Timezone"),
            "status": _("Status"),
            "to": _("To"),
            "mail_id": _("Mail number"),
        }
    )
    value_labels_register("status", dict(Contract.Status.choices))
