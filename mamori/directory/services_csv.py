"""CSV import of users: upload, check, import.

The upload stores the file and queues its check; the check (a task) records a per-row report;
the person's confirmation queues the import (a task), which checks again under the contract's lock
and writes everything in one transaction, or nothing. Writes are set-based (``bulk``: COPY on
PostgreSQL, updates in id order), and no password is hashed: new accounts get an invitation.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mamori.accounts.invitations import Invitee, invitation_mails_queue
from mamori.accounts.models import Account
from mamori.accounts.scope import authorize
from mamori.accounts.services import _lock_contract
from mamori.audit.services import Target, log_record
from mamori.contracts.models import Contract
from mamori.core.actor import Actor
from mamori.directory import bulk, csv_check, csv_format
from mamori.directory.audit_actions import DirectoryAction
from mamori.directory.csv_check import Plan, PlannedUser
from mamori.directory.models import Organization, User, UserEmail, UserImport
from mamori.directory.services import organization_user_counts_refresh

logger = logging.getLogger(__name__)
BATCH = 1000
ACTOR_FIELDS = ("kind", "ip", "user_agent", "request_id")


def _actor_values(actor: Actor) -> dict[str, Any]:
    return {field: getattr(actor, field) for field in ACTOR_FIELDS}


def user_import_start(
    *, actor: Actor, contract: Contract, filename: str, file: IO[bytes], mode: str
) -> UserImport:
    """Keep an uploaded CSV and queue its check; nothing else changes until it is imported."""
    authorize(actor, "users.import")
    errors: dict[str, list[str]] = {}
    if mode not in UserImport.Mode.values:
        errors["mode"] = [_("Choose “Add only” or “Add or update”.")]
    text = ""
    data = file.read(csv_format.MAX_BYTES + 1)
    if len(data) > csv_format.MAX_BYTES:
        errors["file"] = [
            _("A file is at most %(limit)d MB.") % {"limit": csv_format.MAX_BYTES // 2**20}
        ]
    else:
        try:
            text = csv_format.decode(data)
        except ValidationError as exc:
            errors["file"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        user_import = UserImport.objects.create(
            contract=contract,
            account=actor.account,
            mode=mode,
            filename=filename[-255:],
            content=text,
            status=UserImport.Status.CHECKING,
            summary={"actor": _actor_values(actor)},
        )
        transaction.on_commit(lambda: _enqueue("check", user_import.pk))
    return user_import


def _enqueue(step: str, import_id: int) -> None:
    from mamori.directory.tasks import user_import_check_task, user_import_run_task

    (user_import_check_task if step == "check" else user_import_run_task).enqueue(import_id)


def _actor(user_import: UserImport) -> Actor | None:
    """Who started the import, as they are now: their privilege and scope are checked again."""
    values = user_import.summary.get("actor", {})
    request = {
        "kind": values.get("kind", "account"),
        "ip": values.get("ip"),
        "user_agent": values.get("user_agent", ""),
        "request_id": values.get("request_id", ""),
    }
    if user_import.account_id is None:
        return Actor(**request) if request["kind"] in ("operator", "system") else None
    account = (
        Account.objects.select_related("contract", "user__organization", "scheme")
        .filter(pk=user_import.account_id, is_active=True)
        .first()
    )
    return Actor(account=account, **request) if account else None


def _language(actor: Actor | None) -> str:
    return actor.account.language if actor and actor.account else "ja"


def user_import_check(*, import_id: int) -> str:
    """Check the whole file and record the report: errors, or what the import will do."""
    user_import = UserImport.objects.get(pk=import_id)
    if user_import.status != UserImport.Status.CHECKING:
        return "not checking"
    actor = _actor(user_import)
    with translation.override(_language(actor)):
        if actor is None:
            return _finish_failed(user_import, _disabled_message())

        def progress(done: int, total: int) -> None:
            UserImport.objects.filter(pk=import_id).update(processed_rows=done, total_rows=total)

        plan = csv_check.check(
            actor=actor,
            contract_id=user_import.contract_id,
            mode=user_import.mode,
            text=user_import.content,
            progress=progress,
        )
    status = UserImport.Status.INVALID if plan.error_count else UserImport.Status.READY
    UserImport.objects.filter(pk=import_id).update(
        status=status,
        total_rows=plan.rows,
        processed_rows=plan.rows,
        errors=plan.errors,
        summary={**user_import.summary, "plan": plan.summary()},
        **_ended(status),
    )
    return status


def _ended(status: str) -> dict[str, Any]:
    # A file with errors is finished with: its text is no longer kept.
    if status == UserImport.Status.READY:
        return {}
    return {"content": "", "finished_at": timezone.now()}


def user_import_apply(*, actor: Actor, user_import: UserImport) -> None:
    """Import a file that passed its check (the person's confirmation); once only."""
    authorize(actor, "users.import")
    summary = {**user_import.summary, "actor": _actor_values(actor)}
    with transaction.atomic():
        started = UserImport.objects.filter(
            pk=user_import.pk, status=UserImport.Status.READY
        ).update(status=UserImport.Status.RUNNING, processed_rows=0, summary=summary)
        if not started:
            raise ValidationError(
                _("Only a file that passed its check can be imported, and only once.")
            )
        transaction.on_commit(lambda: _enqueue("run", user_import.pk))
    user_import.status, user_import.summary = UserImport.Status.RUNNING, summary


class _Invalid(Exception):
    def __init__(self, plan: Plan) -> None:
        self.plan = plan


def user_import_run(*, import_id: int) -> str:
    """Check the file again under the contract's lock, then write it all in one transaction."""
    user_import = UserImport.objects.select_related("contract").get(pk=import_id)
    if user_import.status != UserImport.Status.RUNNING:
        return "not running"
    actor = _actor(user_import)
    with translation.override(_language(actor)):
        if actor is None:
            return _finish_failed(user_import, _disabled_message())
        try:
            with transaction.atomic():
                _lock_contract(user_import.contract_id)
                _import(actor, user_import)
        except _Invalid as exc:
            return _finish_invalid(user_import, exc.plan)
        except IntegrityError:
            # A concurrent change took an employee code or an account name the file gives.
            logger.exception("user import %s collided with another change", import_id)
            return _finish_failed(
                user_import,
                _(
                    "Users or accounts were changed while the file was being imported, and nothing was imported. Upload the file again."
                ),
            )
        except Exception:
            logger.exception("user import %s failed", import_id)
            return _finish_failed(
                user_import, _("The import failed, and nothing was imported. Try again later.")
            )
    return UserImport.Status.DONE


def _disabled_message() -> str:
    return _("The account that started this import is disabled or deleted; nothing was imported.")


def _finish_failed(user_import: UserImport, message: str) -> str:
    UserImport.objects.filter(pk=user_import.pk).update(
        status=UserImport.Status.FAILED,
        summary={**user_import.summary, "error": message},
        **_ended(UserImport.Status.FAILED),
    )
    return UserImport.Status.FAILED


def _finish_invalid(user_import: UserImport, plan: Plan) -> str:
    # The contract changed since the check: the new report says how.
    UserImport.objects.filter(pk=user_import.pk).update(
        status=UserImport.Status.INVALID,
        errors=plan.errors,
        summary={**user_import.summary, "plan": plan.summary()},
        **_ended(UserImport.Status.INVALID),
    )
    return UserImport.Status.INVALID


def _import(actor: Actor, user_import: UserImport) -> None:
    plan = csv_check.check(
        actor=actor,
        contract_id=user_import.contract_id,
        mode=user_import.mode,
        text=user_import.content,
    )
    if plan.error_count:
        raise _Invalid(plan)
    contract = user_import.contract
    _organizations_create(plan.organizations)
    user_ids = _users_create(contract, plan.users)
    _users_update([u for u in plan.users if u.existing and (u.changed or u.emails_changed)])
    _emails_replace([u for u in plan.users if u.existing and u.emails_changed])
    invited = _accounts_create(contract, plan.users, user_ids)
    organization_user_counts_refresh(contract.pk)
    summary = plan.summary()
    result = {
        "created": summary["created"],
        "updated": summary["updated"],
        "unchanged": summary["unchanged"],
        "organizations_created": summary["organizations_created"],
        "accounts_created": len(invited),
        "invitations_sent": invitation_mails_queue(contract, invited),
    }
    log_record(
        contract=contract,
        actor=actor,
        action=DirectoryAction.USERS_IMPORTED,
        target=Target("user_import", user_import.pk, user_import.filename),
        after={**result, "file": user_import.filename, "mode": user_import.mode},
        organization_id=_common_organization(plan),
    )
    UserImport.objects.filter(pk=user_import.pk).update(
        status=UserImport.Status.DONE,
        processed_rows=plan.rows,
        summary={**user_import.summary, "plan": summary, "result": result},
        **_ended(UserImport.Status.DONE),
    )


def _organizations_create(organizations: list[Organization]) -> None:
    """Create the planned organizations a level at a time: a child needs its parent's id."""
    by_depth: dict[int, list[Organization]] = {}
    for organization in organizations:
        by_depth.setdefault(organization.path.count("/"), []).append(organization)
    for depth in sorted(by_depth):
        level = by_depth[depth]
        Organization.objects.bulk_create(level, batch_size=BATCH)  # parents have ids by now
        for organization in level:
            assert organization.parent is not None
            organization.path = f"{organization.parent.path}{organization.pk}/"
        Organization.objects.bulk_update(level, ["path"], batch_size=BATCH)


USER_COLUMNS = ("contract", "organization", *csv_check.USER_FIELDS, "created_at", "updated_at")
EMAIL_COLUMNS = ("user", "address", "category")


def _users_create(contract: Contract, planned: list[PlannedUser]) -> dict[int, int]:
    """Insert the new users and their addresses; return each row's user id."""
    new = [p for p in planned if p.existing is None]
    now = timezone.now()
    ids = bulk.insert_returning_ids(
        User, USER_COLUMNS, [(contract.pk, *_user_values(p), now, now) for p in new]
    )
    bulk.insert(UserEmail, EMAIL_COLUMNS, _email_rows(zip(ids, new, strict=True)))
    by_row = {p.row: pk for p, pk in zip(new, ids, strict=True)}
    by_row.update({p.row: p.existing.id for p in planned if p.existing})
    return by_row


def _user_values(planned: PlannedUser) -> tuple[Any, ...]:
    data = planned.data
    return (data.organization.pk, *(getattr(data, f) for f in csv_check.USER_FIELDS))


def _email_rows(users: Iterable[tuple[int, PlannedUser]]) -> Iterator[tuple[int, str, str]]:
    for pk, p in users:
        for address, category in p.data.emails:
            yield pk, address, category


def _users_update(planned: list[PlannedUser]) -> None:
    now = timezone.now()
    bulk.update(
        User,
        ("organization", *csv_check.USER_FIELDS, "updated_at"),
        [(p.existing.id, *_user_values(p), now) for p in planned],  # type: ignore[union-attr]
    )


def _emails_replace(planned: list[PlannedUser]) -> None:
    users = sorted(((p.existing.id, p) for p in planned), key=lambda u: u[0])  # type: ignore[union-attr]
    for start in range(0, len(users), BATCH):
        UserEmail.objects.filter(
            user_id__in=[pk for pk, _p in users[start : start + BATCH]]
        ).delete()
    bulk.insert(UserEmail, EMAIL_COLUMNS, _email_rows(users))


def _accounts_create(
    contract: Contract, planned: list[PlannedUser], user_ids: dict[int, int]
) -> list[Invitee]:
    """New accounts without a usable password: each is invited to set one."""
    rows = [p for p in planned if p.account is not None]
    accounts = []
    for p in rows:
        data = p.account
        assert data is not None
        accounts.append(
            Account(
                contract=contract,
                user_id=user_ids[p.row],
                name=data.name,
                privilege=data.privilege,
                support_option=data.support_option,
                receive_notice_mail=data.receive_notice_mail,
                language=data.language,
                timezone=data.timezone,
                scope_all=data.scope_all,
                scheme=data.scheme,
                password=make_password(None),  # unusable, and no hashing
            )
        )
    Account.objects.bulk_create(accounts, batch_size=BATCH)
    scope = Account.scope_organizations.through
    scope.objects.bulk_create(
        [
            scope(account_id=account.pk, organization_id=organization.pk)
            for p, account in zip(rows, accounts, strict=True)
            for organization in p.account.scope_organizations  # type: ignore[union-attr]
        ],
        batch_size=BATCH,
    )
    return [
        Invitee(account, p.data.name, csv_check.main_address(p.data.emails) or "")
        for p, account in zip(rows, accounts, strict=True)
    ]


def _common_organization(plan: Plan) -> int | None:
    """The deepest organization above every user the import touched: its log entry is seen by
    the administrators whose scope covers the whole import."""
    paths = {p.data.organization.path for p in plan.users}
    paths |= {p.previous_organization.path for p in plan.users if p.previous_organization}
    common = posixpath.commonpath(paths).strip("/") if paths else ""  # "/1/5/9/" -> "1/5/9"
    return int(common.rsplit("/", 1)[-1]) if common else None
