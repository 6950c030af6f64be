"""CSV import and export of users in the API: the same services and selectors as the pages."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from mamori.accounts.models import Account
from mamori.core.actor import Actor, ActorKind
from mamori.core.fields import annotation_of
from mamori.directory.selectors import UserQuery, organization_get, users_visible_to
from mamori.users_csv import services as services_csv
from mamori.users_csv.export import users_csv_chunks
from mamori.users_csv.models import UserImport
from mamori.users_csv.selectors import user_import_get

router = Router(tags=["Users/Org CSV"])


def _me(request: HttpRequest) -> Account:
    return request.auth  # type: ignore[attr-defined]


class RowErrorOut(Schema):
    row: int
    column: str
    message: str


class UserImportOut(Schema):
    id: int
    filename: str
    mode: str
    status: str
    total_rows: int
    processed_rows: int
    errors: list[RowErrorOut]
    plan: dict[str, Any]
    result: dict[str, Any]
    failure: str
    created_at: datetime.datetime
    finished_at: datetime.datetime | None

    @classmethod
    def of(cls, user_import: UserImport) -> UserImportOut:
        summary = user_import.summary
        return cls(
            id=user_import.pk,
            filename=user_import.filename,
            mode=user_import.mode,
            status=user_import.status,
            total_rows=user_import.total_rows,
            processed_rows=user_import.processed_rows,
            errors=user_import.errors,
            plan=summary.get("plan", {}),
            result=summary.get("result", {}),
            failure=summary.get("error", ""),
            created_at=user_import.created_at,
            finished_at=user_import.finished_at,
        )


@router.post("/users/imports", response={202: UserImportOut}, summary="Upload a users CSV to check")
def import_create(
    request: HttpRequest,
    file: File[UploadedFile],
    mode: Form[annotation_of(UserImport, "mode")] = UserImport.Mode.ADD.value,  # type: ignore[valid-type]
) -> Status[UserImportOut]:
    """The file is checked in the background: poll the import until its status is ``ready``
    (then apply it) or ``invalid`` (its ``errors`` name each row and column). ``mode`` is
    ``add`` or ``upsert``."""
    me = _me(request)
    user_import = services_csv.user_import_start(
        actor=Actor.from_request(request, kind=ActorKind.API),
        contract=me.contract,
        filename=file.name or "users.csv",
        file=file,
        mode=mode,
    )
    return Status(202, UserImportOut.of(user_import_get(me, user_import.pk)))


@router.get("/users/imports/{import_id}", response=UserImportOut, summary="One import")
def import_detail(request: HttpRequest, import_id: int) -> UserImportOut:
    me = _me(request)
    return UserImportOut.of(user_import_get(me, import_id))


@router.post(
    "/users/imports/{import_id}/apply",
    response={202: UserImportOut},
    summary="Import a checked file",
)
def import_apply(request: HttpRequest, import_id: int) -> Status[UserImportOut]:
    """Only an import whose status is ``ready``, once; it runs in the background."""
    me = _me(request)
    user_import = user_import_get(me, import_id)
    services_csv.user_import_apply(
        actor=Actor.from_request(request, kind=ActorKind.API), user_import=user_import
    )
    return Status(202, UserImportOut.of(user_import_get(me, import_id)))


@router.get("/users/export", summary="Users as CSV (UTF-8 with BOM)")
def export(
    request: HttpRequest,
    q: str = "",
    organization: int | None = None,
    include_sub_organizations: bool = True,
) -> StreamingHttpResponse:
    """The columns the import reads, with the user list's filters."""
    me = _me(request)
    users_visible_to(me, "export")  # refused here, not in the middle of the stream
    query = UserQuery(
        search=q[:100],
        organization=organization_get(me, organization, "users.export")
        if organization is not None
        else None,
        include_sub_organizations=include_sub_organizations,
    )
    response = StreamingHttpResponse(
        users_csv_chunks(me, query), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    filename = f"mamori-users-{me.contract.domain}-{stamp}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
