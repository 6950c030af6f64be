"""The users CSV: its columns, and how a file is read and its cells are written.

One row per user under a header row naming the columns, in any order. Export writes UTF-8 with a
BOM (so Excel opens Japanese correctly); import reads UTF-8 with or without a BOM, and Shift_JIS
(cp932, what Excel saves as "CSV" on Japanese Windows). The columns:

``organization``         the organization path from the top organization down, names joined by
                         " / " (``ACME株式会社 / 営業部 / 東京``); organizations that do not exist
                         yet are created. Required.
``name``                 full name. Required.
``furigana``             katakana; hiragana and half-width katakana are converted.
``employee_code``        unique in the contract; what "add or update" recognises a user by.
``title``, ``phone``, ``mobile_phone``
``emails``               ``address:category`` pairs joined by ``;``, category ``main``, ``work``,
                         ``personal`` or ``other``, exactly one main
                         (``taro@example.com:main;taro@example.net:personal``). Required.
``account_name``         with ``privilege``: the user's Mamori account, which gets a mail with a
                         link to set its password (passwords are never in the file).
``privilege``            ``system_admin``, ``department_admin``, ``operator`` or
                         ``custom_admin``; empty: no account.
``permission_scheme``    the name of a custom permission scheme (custom administrators).
``support_option``       ``yes`` or ``no`` (System administrators; at most 5 per contract).
``receive_notice_mail``  ``yes`` or ``no`` (with the support option).
``language``             ``ja`` or ``en``; empty: the importing administrator's.
``timezone``             an IANA zone such as ``Asia/Tokyo``; empty: the importing administrator's.

A column left out of the file leaves that field of updated users as it is (and empty for new
ones); an empty cell empties the field. No cell holds a line break (no field does): a cell that
runs over several lines is a quote left open, reported with its row rather than swallowing the
rows after it. An organization name never holds the path separator (the services refuse it), so
export then import is the identity; a path the export wrote for a name saved before that rule
still finds its organization. Department and custom administrators imported from a file
manage the organization the user belongs to, with its sub-organizations.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mamori.core.spreadsheet import cell_unprotect
from mamori.directory.models import UserEmail

PATH_SEPARATOR = " / "
_PATH_SPLIT = re.compile(r"\s+/\s+")
MAX_BYTES = 64 * 1024 * 1024
MAX_ROWS = 200_000
CATEGORIES = tuple(UserEmail.Category.values)
YES = frozenset({"yes", "y", "true", "1"})
NO = frozenset({"no", "n", "false", "0", ""})


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    help: Promise
    required: bool = False


COLUMNS = (
    Column(
        "organization",
        gettext_lazy(
            "Organization path from the top organization down, names joined by “ / ” "
            "(for example “ACME株式会社 / 営業部 / 東京”). Missing organizations are created."
        ),
        required=True,
    ),
    Column("name", gettext_lazy("Full name."), required=True),
    Column(
        "furigana",
        gettext_lazy("Katakana; hiragana and half-width katakana are converted."),
    ),
    Column(
        "employee_code",
        gettext_lazy("Unique in the contract. “Add or update” recognises users by it."),
    ),
    Column("title", gettext_lazy("Title.")),
    Column("phone", gettext_lazy("Phone number.")),
    Column("mobile_phone", gettext_lazy("Mobile phone number.")),
    Column(
        "emails",
        gettext_lazy(
            "address:category pairs joined by “;”; category main, work, personal or other; "
            "exactly one main (for example “taro@example.com:main;taro@example.net:personal”)."
        ),
        required=True,
    ),
    Column(
        "account_name",
        gettext_lazy(
            "With privilege: a Mamori account, which gets a mail with a link to set its password."
        ),
    ),
    Column(
        "privilege",
        gettext_lazy(
            "system_admin, department_admin, operator or custom_admin; empty for no account. "
            "Department and custom administrators manage the user's organization."
        ),
    ),
    Column(
        "permission_scheme",
        gettext_lazy("Name of a custom permission scheme, for custom_admin."),
    ),
    Column(
        "support_option",
        gettext_lazy("yes or no; System administrators only, at most 5 per contract."),
    ),
    Column("receive_notice_mail", gettext_lazy("yes or no; with the support option.")),
    Column("language", gettext_lazy("ja or en; empty: yours.")),
    Column("timezone", gettext_lazy("An IANA timezone such as Asia/Tokyo; empty: yours.")),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)


class FileError(ValidationError):
    """The file as a whole cannot be read: wrong encoding, no header, too large."""


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (a BOM is dropped) if it is valid UTF-8, else Shift_JIS (cp932)."""
    if b"\x00" in data:  # UTF-16, or not text at all
        raise FileError(_("The file is not a CSV text file (UTF-8 or Shift_JIS)."))
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileError(_("The file is neither UTF-8 nor Shift_JIS text. Save it as CSV (UTF-8)."))


@dataclasses.dataclass(frozen=True)
class Table:
    """A read file: its columns and its rows, each a mapping of column to cell."""

    columns: tuple[str, ...]
    rows: list[tuple[int, dict[str, str]]]  # (row number as a spreadsheet shows it, cells)


def read(text: str) -> Table:
    """Split the text into rows; raise FileError for a file that cannot be used as a whole."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise FileError(_("The file is empty: the first row must name the columns."))
        columns = _header(header)
        # Row numbers as a spreadsheet shows them: the header is row 1, and a quoted cell with
        # line breaks is still one row.
        line = reader.line_num + 1  # where the next row starts in the file
        for number, cells in enumerate(reader, start=2):
            _one_line_cells(columns, cells, number, line)
            line = reader.line_num + 1
            if "".join(cells).strip():  # a row of empty cells is no user
                rows.append((number, _cells(columns, cells, number)))
    except csv.Error as exc:
        raise FileError(
            _("Line %(line)d of the file cannot be read as CSV: %(error)s")
            % {"line": reader.line_num, "error": exc}
        ) from exc
    if not rows:
        raise FileError(_("The file has a header row but no users."))
    if len(rows) > MAX_ROWS:
        raise FileError(_("A file holds at most %(limit)d users.") % {"limit": MAX_ROWS})
    return Table(columns, rows)


def _one_line_cells(columns: tuple[str, ...], cells: list[str], number: int, line: int) -> None:
    """No column holds a line break, so a cell with one is a quote left open: the reader took
    the rows after it (to the next quote, or to the end of the file) into that cell. Said with
    the row and line where it began, instead of importing fewer users than the file has."""
    for i, cell in enumerate(cells):
        if "\n" in cell or "\r" in cell:
            raise FileError(
                _(
                    'Row %(row)d (line %(line)d of the file): the “%(column)s” cell runs over several lines, so a quote (") in it is probably not closed, and the lines after it were read into that cell. Close or remove the quote; a cell cannot hold a line break.'
                )
                % {"row": number, "line": line, "column": columns[i] if i < len(columns) else "?"}
            )


def _header(cells: list[str]) -> tuple[str, ...]:
    columns = tuple(cell.strip().lower() for cell in cells)
    errors = []
    for column in columns:
        if column not in COLUMN_NAMES:
            errors.append(
                _("Unknown column “%(column)s”. The columns are: %(columns)s.")
                % {"column": column, "columns": ", ".join(COLUMN_NAMES)}
            )
        elif columns.count(column) > 1:
            errors.append(_("The column “%(column)s” appears twice.") % {"column": column})
    for required in (c.name for c in COLUMNS if c.required):
        if required not in columns:
            errors.append(_("The column “%(column)s” is missing.") % {"column": required})
    if errors:
        raise FileError(list(dict.fromkeys(errors)))
    return columns


def _cells(columns: tuple[str, ...], cells: list[str], number: int) -> dict[str, str]:
    extra = [cell for cell in cells[len(columns) :] if cell.strip()]
    if extra:
        raise FileError(
            _("Row %(row)d has more cells than the header has columns.") % {"row": number}
        )
    # Spreadsheets may drop empty cells at the end of a row: those are empty.
    return {
        column: (cell_unprotect(cells[i]) if i < len(cells) else "")
        for i, column in enumerate(columns)
    }


def split_path(cell: str) -> list[str]:
    return [part.strip() for part in _PATH_SPLIT.split(cell.strip())]


def join_path(names: list[str]) -> str:
    return PATH_SEPARATOR.join(names)


def parse_emails(cell: str) -> tuple[tuple[str, str], ...]:
    """``address:category;…`` as (address, category) pairs, or a ValidationError."""
    pairs = []
    for part in cell.split(";"):
        if not part.strip():
            continue
        address, colon, category = part.strip().rpartition(":")
        if not colon:
            raise ValidationError(
                _("Write each address as address:category, for example taro@example.com:main.")
            )
        category = category.strip().lower()
        if category not in CATEGORIES:
            raise ValidationError(
                _("“%(category)s” is not a category: use main, work, personal or other.")
                % {"category": category}
            )
        pairs.append((address.strip(), category))
    return tuple(pairs)


def format_emails(pairs: list[tuple[str, str]]) -> str:
    return ";".join(f"{address}:{category}" for address, category in pairs)


def parse_yes_no(cell: str) -> bool:
    value = cell.strip().lower()
    if value in YES:
        return True
    if value in NO:
        return False
    raise ValidationError(_("Write yes or no."))


def format_yes_no(value: bool) -> str:
    return "yes" if value else "no"
