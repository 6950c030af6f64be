"""Users as CSV, in the columns the import reads: UTF-8 with BOM, streamed in chunks."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Prefetch

from mamori.accounts.models import Account
from mamori.core.access import has_permission
from mamori.core.spreadsheet import cell_protect, csv_chunks
from mamori.core.timezones import timezone_display
from mamori.directory.models import Organization, User, UserEmail
from mamori.directory.selectors import UserQuery, users_search
from mamori.users_csv import format as csv_format

BATCH = 1000


def _organization_paths(contract_id: int) -> dict[int, str]:
    """Every organization's path of names from the top, e.g. "ACME / 営業部 / 東京"."""
    rows = list(
        Organization.objects.filter(contract_id=contract_id).values_list("id", "name", "path")
    )
    names = {pk: name for pk, name, _path in rows}
    return {
        pk: csv_format.join_path([names.get(int(i), "?") for i in path.strip("/").split("/")])
        for pk, _name, path in rows
    }


def _row(user: User, paths: dict[int, str], width: int) -> list[str]:
    # Names, titles and phone numbers (+81 …) could read as formulas in a spreadsheet; the
    # import takes the apostrophe off again.
    return [cell_protect(cell) for cell in _cells(user, paths)[:width]]


def _cells(user: User, paths: dict[int, str]) -> list[str]:
    account: Account | None = getattr(user, "account", None)
    cells = [
        paths.get(user.organization_id, ""),
        user.name,
        user.furigana,
        user.employee_code,
        user.title,
        user.phone,
        user.mobile_phone,
        csv_format.format_emails([(e.address, e.category) for e in user.emails.all()]),
    ]
    if account is None:
        return [*cells, "", "", "", "", "", "", ""]
    return [
        *cells,
        account.name,
        account.privilege,
        account.scheme.name if account.scheme else "",
        csv_format.format_yes_no(account.support_option),
        csv_format.format_yes_no(account.receive_notice_mail),
        account.language,
        timezone_display(account.timezone),
    ]


def users_csv_chunks(account: Account, query: UserQuery) -> Iterator[bytes]:
    """The users the account may see that match the user list's filters, ``BATCH`` rows a chunk."""
    paths = _organization_paths(account.contract_id)
    users = (
        users_search(account, query, "export")
        .select_related("account__scheme")
        .prefetch_related(Prefetch("emails", UserEmail.objects.order_by("id")))
    )
    # The account columns only for a reader who may see accounts (as the user page shows them);
    # a file without them, imported again, leaves accounts as they are.
    columns = csv_format.COLUMN_NAMES
    if not has_permission(account, "accounts.view"):
        columns = columns[: columns.index("account_name")]
    rows = (_row(user, paths, len(columns)) for user in users.iterator(chunk_size=BATCH))
    return csv_chunks(columns, rows, batch=BATCH)
