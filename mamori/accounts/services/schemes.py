"""Custom permission schemes: named sets of permissions for custom administrators."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mamori.accounts.audit_actions import AccountAction
from mamori.accounts.models import (
    PermissionScheme,
)
from mamori.audit.services import Target, log_record
from mamori.contracts.models import Contract
from mamori.core.access import authorize, catalogue
from mamori.core.actor import Actor
from mamori.core.fields import length_errors


def _scheme_clean(
    contract_id: int, name: str, permissions: list[str], exclude: int | None
) -> tuple[str, list[str]]:
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = [_("Enter the scheme name.")]
    elif too_long := length_errors(PermissionScheme, {"name": name}):
        errors.update(too_long)
    elif (
        PermissionScheme.objects.filter(contract_id=contract_id, name=name)
        .exclude(pk=exclude or 0)
        .exists()
    ):
        errors["name"] = [_("A scheme named “%(name)s” already exists.") % {"name": name}]
    unknown = sorted(set(permissions) - catalogue.grantable())
    if unknown:
        errors["permissions"] = [
            _("Unknown permissions: %(codes)s") % {"codes": ", ".join(unknown)}
        ]
    if errors:
        raise ValidationError(errors)
    return name, sorted(set(permissions))


def scheme_create(
    *, actor: Actor, contract: Contract, name: str, permissions: list[str]
) -> PermissionScheme:
    authorize(actor, "settings.change")
    name, permissions = _scheme_clean(contract.pk, name, permissions, None)
    with transaction.atomic():
        scheme = PermissionScheme.objects.create(
            contract=contract, name=name, permissions=permissions
        )
        log_record(
            contract=contract,
            actor=actor,
            action=AccountAction.SCHEME_CREATED,
            target=Target("scheme", scheme.pk, name),
            after={"name": name, "permissions": permissions},
        )
    return scheme


def scheme_update(
    *, actor: Actor, scheme: PermissionScheme, name: str, permissions: list[str]
) -> None:
    authorize(actor, "settings.change")
    name, permissions = _scheme_clean(scheme.contract_id, name, permissions, scheme.pk)
    before = {"name": scheme.name, "permissions": scheme.permissions}
    with transaction.atomic():
        scheme.name, scheme.permissions = name, permissions
        scheme.save(update_fields=["name", "permissions"])
        log_record(
            contract=scheme.contract,
            actor=actor,
            action=AccountAction.SCHEME_UPDATED,
            target=Target("scheme", scheme.pk, name),
            before=before,
            after={"name": name, "permissions": permissions},
        )


def scheme_delete(*, actor: Actor, scheme: PermissionScheme) -> None:
    authorize(actor, "settings.change")
    users = scheme.accounts.count()
    if users:
        raise ValidationError(
            ngettext(
                "%(count)d account uses “%(name)s”. Give it another scheme first.",
                "%(count)d accounts use “%(name)s”. Give them another scheme first.",
                users,
            )
            % {"count": users, "name": scheme.name}
        )
    with transaction.atomic():
        log_record(
            contract=scheme.contract,
            actor=actor,
            action=AccountAction.SCHEME_DELETED,
            target=Target("scheme", scheme.pk, scheme.name),
            before={"name": scheme.name, "permissions": scheme.permissions},
        )
        scheme.delete()
