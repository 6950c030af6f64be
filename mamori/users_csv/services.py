"""CSV import of users: upload, check, import.

The upload stores the file and submits its check (durable work, ``users.import.check``), which
records a per-row report; the person's confirmation submits the import (``users.import.run``),
which checks again under the contract's lock and writes everything in one transaction, or
nothing. Both run as the person who asked (the work's actor, checked again when it runs), and
both may run again after a crash: each re-reads the import's status before it writes. Writes are
set-based (``bulk``: COPY on PostgreSQL, updates in id order), and no password is hashed: new
accounts get an invitation.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mamori.accounts.models import ACCOUNT_FIELDS, Account
from mamori.accounts.services.administration import contract_lock
from mamori.accounts.services.invitations import Invitee, invitation_mails_queue
from mamori.audit.services import Target, log_record
from mamori.contracts.models import Contract
from mamori.core import bulk
from mamori.core.access import authorize
from mamori.core.actor import Actor
from mamori.core.models import Work
from mamori.core.text import fold
from mamori.core.work import Failure, Retry, WorkFailed, work_submit
from mamori.directory.models import (
    USER_FIELDS,
    Organization,
    User,
    UserEmail,
    address_key,
    reading_key,
)
from mamori.directory.services import organization_user_counts_refresh
from mamori.users_csv import check as csv_check
from mamori.users_csv import format as csv_format
from mamori.users_csv.audit_actions import UsersCsvAction
from mamori.users_csv.check import Plan, PlannedUser
from mamori.users_csv.models import UserImport

logger = logging.getLogger(__name__)
BATCH = 1000
CHECK = "users.import.check"
RUN = "users.import.run"
# An unexpected error (a database hiccup) is tried again a little later, twice.
RETRY = Retry(base=10, cap=60, max_attempts=3)


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
            account_id=actor.account.pk if actor.account else None,
            mode=mode,
            filename=filename[-255:],
            content=text,
            status=UserImport.Status.CHECKING,
        )
        _submit(CHECK, actor, user_import)
    return user_import


def _submit(kind: str, actor: Actor, user_import: UserImport) -> Work:
    return work_submit(
        kind=kind,
        payload={"import": user_import.pk},
        actor=actor,
        contract_id=user_import.contract_id,
    )


def _language(actor: Actor) -> str:
    return actor.account.language if actor.account else settings.LANGUAGE_CODE


def user_import_check(work: Work, actor: Actor) -> str:
    """The ``users.import.check`` handler: check the whole file as ``actor`` (the person who
    uploaded it, as they are now) and record the report: errors, or what the import will do.

    Run again after a crash, it checks again from the start; only a check still pending records.
    """
    import_id = work.payload["import"]
    user_import = UserImport.objects.get(pk=import_id)
    if user_import.status != UserImport.Status.CHECKING:
        return "not checking"

    def progress(done: int, total: int) -> None:
        UserImport.objects.filter(pk=import_id, status=UserImport.Status.CHECKING).update(
            processed_rows=done, total_rows=total
        )

    with translation.override(_language(actor)):
        plan = csv_check.check(
            actor=actor,
            contract_id=user_import.contract_id,
            mode=user_import.mode,
            text=user_import.content,
            progress=progress,
        )
    status = UserImport.Status.INVALID if plan.error_count else UserImport.Status.READY
    recorded = UserImport.objects.filter(pk=import_id, status=UserImport.Status.CHECKING).update(
        status=status,
        total_rows=plan.rows,
        processed_rows=plan.rows,
        errors=plan.errors,
        summary={**user_import.summary, "plan": plan.summary()},
        **_ended(status),
    )
    return status if recorded else "not checking"


def _ended(status: str) -> dict[str, Any]:
    # A file with errors is finished with: its text is no longer kept.
    if status == UserImport.Status.READY:
        return {}
    return {"content": "", "finished_at": timezone.now()}


def user_import_apply(*, actor: Actor, user_import: UserImport) -> None:
    """Import a file that passed its check (the person's confirmation); once only."""
    authorize(actor, "users.import")
    with transaction.atomic():
        started = UserImport.objects.filter(
            pk=user_import.pk, status=UserImport.Status.READY
        ).update(status=UserImport.Status.RUNNING, processed_rows=0)
        if not started:
            raise ValidationError(
                _("Only a file that passed its check can be imported, and only once.")
            )
        _submit(RUN, actor, user_import)
    user_import.status = UserImport.Status.RUNNING


class _Invalid(Exception):
    def __init__(self, plan: Plan) -> None:
        self.plan = plan


def user_import_run(work: Work, actor: Actor) -> str:
    """The ``users.import.run`` handler: check the file again under the contract's lock, as
    ``actor`` (the person who confirmed it, as they are now), then write it all in one
    transaction, or nothing.

    The import's status is read again under that lock, so running twice imports once. A
    collision with a concurrent change raises ``WorkFailed``.
    """
    import_id = work.payload["import"]
    contract_id = UserImport.objects.values_list("contract_id", flat=True).get(pk=import_id)
    with translation.override(_language(actor)):
        try:
            with transaction.atomic():
                contract_lock(contract_id)
                user_import = UserImport.objects.select_related("contract").get(pk=import_id)
                if user_import.status != UserImport.Status.RUNNING:
                    return "not running"
                _import(actor, user_import)
        except _Invalid as exc:
            return _finish_invalid(import_id, exc.plan)
        except IntegrityError as exc:
            # A concurrent change took an employee code or an account name the file gives.
            logger.exception("user import %s collided with another change", import_id)
            raise WorkFailed(
                _(
                    "Users or accounts were changed while the file was being imported, and nothing was imported. Upload the file again."
                )
            ) from exc
    return UserImport.Status.DONE


def user_import_failed(work: Work, failure: Failure) -> None:
    """``on_failure`` of both handlers: the import ends failed with the reason, never waits."""
    user_import = (
        UserImport.objects.select_related("account")
        .filter(
            pk=work.payload["import"],
            status__in=[UserImport.Status.CHECKING, UserImport.Status.RUNNING],
        )
        .first()
    )
    if user_import is None:
        return
    message = failure.reason
    if failure.exhausted:
        account = user_import.account
        with translation.override(account.language if account else settings.LANGUAGE_CODE):
            message = _("The import failed, and nothing was imported. Try again later.")
    UserImport.objects.filter(pk=user_import.pk).update(
        status=UserImport.Status.FAILED,
        summary={**user_import.summary, "error": message},
        **_ended(UserImport.Status.FAILED),
    )


def _finish_invalid(import_id: int, plan: Plan) -> str:
    # The contract changed since the check: the new report says how.
    summary = UserImport.objects.values_list("summary", flat=True).get(pk=import_id)
    recorded = UserImport.objects.filter(pk=import_id, status=UserImport.Status.RUNNING).update(
        status=UserImport.Status.INVALID,
        errors=plan.errors,
        summary={**summary, "plan": plan.summary()},
        **_ended(UserImport.Status.INVALID),
    )
    return UserImport.Status.INVALID if recorded else "not running"


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
        action=UsersCsvAction.USERS_IMPORTED,
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


# The search and main-address keys User.save() and the services keep, written here by hand.
KEY_COLUMNS = ("name_key", "furigana_key", "main_address_key")
USER_COLUMNS = ("contract", "organization", *USER_FIELDS, *KEY_COLUMNS, "created_at", "updated_at")
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
    main = csv_check.main_address(data.emails) or ""
    keys = (fold(data.name), reading_key(data.furigana), address_key(main))
    return (data.organization.pk, *(getattr(data, f) for f in USER_FIELDS), *keys)


def _email_rows(users: Iterable[tuple[int, PlannedUser]]) -> Iterator[tuple[int, str, str]]:
    for pk, p in users:
        for address, category in p.data.emails:
            yield pk, address, category


def _users_update(planned: list[PlannedUser]) -> None:
    now = timezone.now()
    bulk.update(
        User,
        ("organization", *USER_FIELDS, *KEY_COLUMNS, "updated_at"),
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
                scheme=data.scheme,
                **{field: getattr(data, field) for field in ACCOUNT_FIELDS},
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
