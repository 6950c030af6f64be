"""Checking a users CSV as a whole, before anything is written.

Every row is checked with the rules of the Add User and Mamori account forms (``user_data_check``,
``account_data_clean``, ``grant_check``, ``authorize``), against the contract as a handful of
queries read it: nothing is asked of the database per row.

How a row finds an existing user:

- a row with an employee code is the user with that code;
- a row without one is the user with the same name and main e-mail address;
- "add only" refuses a row that finds a user; "add or update" updates that user (an empty
  employee code cell keeps the user's code: codes are what rows are matched by).

An import never changes or removes an existing Mamori account: for a user who has one, the account
cells must be empty or say what the account already is.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from mamori.accounts.models import Account, PermissionScheme
from mamori.accounts.names import account_name_key
from mamori.accounts.services.administration import AccountData, account_data_clean, grant_check
from mamori.contracts.models import SUPPORT_OPTION_LIMIT
from mamori.core.access import OutOfScope, authorize
from mamori.core.actor import Actor
from mamori.core.fields import max_lengths
from mamori.directory.models import USER_FIELDS, Organization, User, UserEmail, address_key
from mamori.directory.services import (
    EmailRow,
    UserData,
    employee_code_normalize,
    organization_name_check,
    user_data_check,
)
from mamori.users_csv import format as csv_format
from mamori.users_csv.models import UserImport

MAIN = UserEmail.Category.MAIN.value
ERROR_LIMIT = 1000  # errors kept for the report; the count covers them all
SHOWN_NEW_ORGANIZATIONS = 100
# The employee code's limit is the service's (after NFKC).
LENGTH_LIMITS = max_lengths(User, ("furigana",))
ADDRESS_LIMIT = 254
# An existing account's cells, as the export writes them, and the fields they come from.
ACCOUNT_CELLS = {
    "account_name": "name",
    "privilege": "privilege",
    "permission_scheme": "scheme__name",
    "support_option": "support_option",
    "receive_notice_mail": "receive_notice_mail",
    "language": "language",
    "timezone": "timezone",
}
# Where the services' field errors show in the file.
ACCOUNT_COLUMNS = {
    "name": "account_name",
    "privilege": "privilege",
    "scheme": "permission_scheme",
    "support_option": "support_option",
    "receive_notice_mail": "receive_notice_mail",
    "language": "language",
    "timezone": "timezone",
    "scope_organizations": "organization",
}


Progress = Callable[[int, int], None]  # (rows checked, rows in all)


@dataclasses.dataclass(slots=True)
class Existing:
    """A user as the database holds it, for matching rows and comparing them."""

    id: int
    organization_id: int
    name: str
    furigana: str
    employee_code: str
    title: str
    phone: str
    mobile_phone: str
    emails: list[EmailRow] = dataclasses.field(default_factory=list)
    account: dict[str, Any] | None = None


@dataclasses.dataclass(slots=True)
class PlannedUser:
    """One row's outcome: a new user, or the changes to an existing one, and a new account."""

    row: int
    data: UserData
    existing: Existing | None
    changed: bool
    emails_changed: bool
    account: AccountData | None
    previous_organization: Organization | None = None  # where an updated user was


@dataclasses.dataclass
class Plan:
    """What importing the file would do, or why it cannot."""

    rows: int = 0
    users: list[PlannedUser] = dataclasses.field(default_factory=list)
    organizations: list[Organization] = dataclasses.field(default_factory=list)  # parents first
    new_paths: list[str] = dataclasses.field(default_factory=list)
    errors: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    error_count: int = 0

    def error(self, row: int, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < ERROR_LIMIT:
            self.errors.append({"row": row, "column": column, "message": str(message)})

    def summary(self) -> dict[str, Any]:
        updated = [u for u in self.users if u.existing and (u.changed or u.emails_changed)]
        return {
            "rows": self.rows,
            "created": sum(1 for u in self.users if u.existing is None),
            "updated": len(updated),
            "unchanged": sum(1 for u in self.users if u.existing) - len(updated),
            "organizations_created": len(self.organizations),
            "new_organizations": self.new_paths[:SHOWN_NEW_ORGANIZATIONS],
            "accounts_created": sum(1 for u in self.users if u.account),
            "errors": self.error_count,
        }


def check(
    *, actor: Actor, contract_id: int, mode: str, text: str, progress: Progress | None = None
) -> Plan:
    """Check the whole file; ``progress(done, total)`` is called every few thousand rows."""
    plan = Plan()
    try:
        table = csv_format.read(text)
        authorize(actor, "users.import")
    except (ValidationError, PermissionDenied) as exc:
        for message in _messages(exc):
            plan.error(1, "", message)
        return plan
    plan.rows = len(table.rows)
    _Checker(actor, contract_id, mode, table.columns, plan).run(table.rows, progress)
    plan.errors.sort(key=lambda e: e["row"])
    return plan


def _messages(exc: ValidationError | PermissionDenied) -> list[str]:
    if isinstance(exc, ValidationError):
        return list(exc.messages)
    return [str(exc) or _("Your admin privilege does not allow this.")]


class _Checker:
    PROGRESS_EVERY = 2000

    def __init__(
        self, actor: Actor, contract_id: int, mode: str, columns: tuple[str, ...], plan: Plan
    ) -> None:
        self.actor, self.contract_id, self.columns, self.plan = actor, contract_id, columns, plan
        self.add_only = mode == UserImport.Mode.ADD
        me = actor.account
        self.language = me.language if me else "ja"
        self.timezone = me.timezone if me else "Asia/Tokyo"
        self._organizations_load()
        self._users_load()
        self._accounts_load()
        self.paths: dict[str, tuple[Organization | None, str]] = {}
        self.codes_seen: dict[str, int] = {}
        self.users_seen: dict[int, int] = {}
        self.mains_seen: dict[str, int] = {}
        self.names_seen: dict[str, int] = {}
        self.support_rows: list[int] = []

    # What the contract holds: one query each ----------------------------------------------

    def _organizations_load(self) -> None:
        organizations = list(
            Organization.objects.filter(contract_id=self.contract_id).only(
                "id", "contract_id", "parent_id", "name", "path"
            )
        )
        self.organizations = {o.pk: o for o in organizations}
        self.by_path: dict[tuple[str, ...], Organization | None] = {}  # None: ambiguous
        # The paths as the export writes them: a cell the export wrote finds its organization
        # even if a name holds the separator (“ / ”), as names made before it was refused may.
        self.by_text: dict[str, Organization | None] = {}
        for o in organizations:
            ids = [int(part) for part in o.path.strip("/").split("/") if part]
            if all(i in self.organizations for i in ids):
                key = tuple(self.organizations[i].name for i in ids)
                self.by_path[key] = None if key in self.by_path else o
                text = csv_format.join_path(list(key))
                self.by_text[text] = None if text in self.by_text else o
        self.root = next(o for o in organizations if o.parent_id is None)
        self.new_count = 0

    def _users_load(self) -> None:
        self.users: dict[int, Existing] = {
            row[0]: Existing(*row)
            for row in User.objects.filter(contract_id=self.contract_id).values_list(
                "id", "organization_id", *USER_FIELDS
            )
        }
        for user_id, address, category in (
            UserEmail.objects.filter(user__contract_id=self.contract_id)
            .order_by("user_id", "id")
            .values_list("user_id", "address", "category")
        ):
            self.users[user_id].emails.append((address, category))
        self.by_code = {u.employee_code: u for u in self.users.values() if u.employee_code}
        # Codes a spreadsheet would shorten (00123 -> 123), by their shortened form.
        self.by_unpadded: dict[str, list[Existing]] = defaultdict(list)
        for u in self.by_code.values():
            if u.employee_code != u.employee_code.lstrip("0"):
                self.by_unpadded[u.employee_code.lstrip("0")].append(u)
        self.by_name_main: dict[tuple[str, str], list[Existing]] = defaultdict(list)
        self.by_main: dict[str, Existing] = {}
        for u in sorted(self.users.values(), key=lambda u: u.id):
            main = main_address(u.emails)
            if main:
                self.by_name_main[(u.name, main.casefold())].append(u)
                self.by_main.setdefault(address_key(main), u)

    def _accounts_load(self) -> None:
        self.account_names: set[str] = set()
        self.support_holders = 0
        for user_id, *values in Account.objects.filter(contract_id=self.contract_id).values_list(
            "user_id", *ACCOUNT_CELLS.values()
        ):
            account: dict[str, Any] = dict(zip(ACCOUNT_CELLS, values, strict=True))
            self.users[user_id].account = account
            self.account_names.add(account_name_key(account["account_name"]))
            self.support_holders += bool(account["support_option"])
        self.schemes = {
            s.name: s for s in PermissionScheme.objects.filter(contract_id=self.contract_id)
        }

    # The rows ------------------------------------------------------------------------------

    def run(self, rows: list[tuple[int, dict[str, str]]], progress: Progress | None) -> None:
        if progress:
            progress(0, len(rows))
        for done, (number, cells) in enumerate(rows, start=1):
            self._row(number, cells)
            if progress and done % self.PROGRESS_EVERY == 0:
                progress(done, len(rows))
        self._support_option_limit()

    def _row(self, number: int, cells: dict[str, str]) -> None:
        errors: list[tuple[str, str]] = []
        organization = self._organization(cells["organization"], errors)
        try:
            emails = csv_format.parse_emails(cells["emails"])
            parsed = True
        except ValidationError as exc:
            errors.append(("emails", exc.messages[0]))
            emails, parsed = (), False
        code, name = employee_code_normalize(cells.get("employee_code", "")), cells["name"].strip()
        existing = self._match(code, name, emails, errors)
        data = self._user_data(cells, organization or self.root, emails, existing)
        hinted = self._code_changed(code, name, emails, existing, errors)

        def main_taken(key: str) -> bool:
            owner = self.by_main.get(key)
            if hinted or owner is None or owner is existing:
                return False
            # "Add only" has said already that this user exists (by code, or name and address).
            return not (
                self.add_only
                and ((code and code == owner.employee_code) or (not code and owner.name == name))
            )

        try:
            data = user_data_check(
                data,
                code_taken=lambda c: self.add_only and c in self.by_code,
                main_taken=main_taken,
            )
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                column = key.split(".")[0]  # "emails.0.address" is the emails column
                if parsed or column != "emails":  # an unreadable cell is reported once
                    errors += [(column, m) for m in messages]
        errors += _length_errors(data)
        self._duplicates(number, data, existing, errors)
        if existing is not None and organization is not None:
            self._authorize_move(existing, errors)
        account = self._account(number, cells, organization, existing, errors)
        for column, message in errors:
            self.plan.error(number, column, message)
        if not errors:
            planned = _planned(number, data, existing, account)
            if existing is not None:
                planned.previous_organization = self.organizations[existing.organization_id]
            self.plan.users.append(planned)

    def _user_data(
        self,
        cells: dict[str, str],
        organization: Organization,
        emails: tuple[EmailRow, ...],
        existing: Existing | None,
    ) -> UserData:
        def value(column: str) -> str:
            if column in self.columns:
                return cells[column]
            return getattr(existing, column) if existing else ""

        code = employee_code_normalize(value("employee_code"))
        return UserData(
            organization=organization,
            name=cells["name"],
            furigana=value("furigana"),
            employee_code=code or (existing.employee_code if existing else ""),
            title=value("title"),
            phone=value("phone"),
            mobile_phone=value("mobile_phone"),
            emails=emails,
        )

    def _organization(self, cell: str, errors: list[tuple[str, str]]) -> Organization | None:
        if cell not in self.paths:
            self.paths[cell] = self._path_resolve(cell)
        organization, message = self.paths[cell]
        if message:
            errors.append(("organization", message))
        return organization

    def _path_resolve(self, cell: str) -> tuple[Organization | None, str]:
        names = csv_format.split_path(cell)
        if not cell.strip():
            return None, _("Enter the organization path, from the top organization down.")
        exported = self.by_text.get(cell.strip())
        if exported is not None:
            try:
                authorize(self.actor, "users.import", exported)
            except OutOfScope:
                return None, _outside(cell)
            return exported, ""
        if not all(names):
            return None, _("An organization name in “%(path)s” is empty.") % {"path": cell}
        if names[0] != self.root.name:
            return None, _(
                "The organization path must start with the top organization “%(root)s”."
            ) % {"root": self.root.name}
        organization = self.root
        for depth in range(2, len(names) + 1):
            key = tuple(names[:depth])
            if key not in self.by_path:
                try:
                    self._organization_plan(organization, key)
                except ValidationError as exc:
                    return None, exc.messages[0]
                except PermissionDenied:
                    return None, _(
                        "Your admin privilege does not allow adding organizations (“%(name)s”)."
                    ) % {"name": names[depth - 1]}
                except OutOfScope:
                    return None, _outside(cell)
            found = self.by_path[key]
            if found is None:
                return None, _("Several organizations are named “%(name)s” under “%(parent)s”.") % {
                    "name": key[-1],
                    "parent": key[-2],
                }
            organization = found
        try:
            authorize(self.actor, "users.import", organization)
        except OutOfScope:
            return None, _outside(cell)
        return organization, ""

    def _organization_plan(self, parent: Organization, key: tuple[str, ...]) -> None:
        """An organization the import will create; its path is a stand-in until then."""
        name = organization_name_check(key[-1])
        authorize(self.actor, "organizations.add", parent)
        self.new_count += 1
        organization = Organization(
            contract_id=self.contract_id,
            parent=parent,
            name=name,
            path=f"{parent.path}new{self.new_count}/",
        )
        self.by_path[key] = organization
        self.plan.organizations.append(organization)
        self.plan.new_paths.append(csv_format.join_path(list(key)))

    def _match(
        self,
        code: str,
        name: str,
        emails: tuple[EmailRow, ...],
        errors: list[tuple[str, str]],
    ) -> Existing | None:
        if code:
            # "Add only" reports a taken code with the Add User form's own message.
            return None if self.add_only else self.by_code.get(code)
        main = main_address(emails)
        found = self.by_name_main.get((name, main.strip().casefold()), []) if main else []
        if len(found) > 1:
            errors.append(
                (
                    "name",
                    _(
                        "%(count)d users are named “%(name)s” with the main e-mail address “%(address)s”. Give them employee codes to tell them apart."
                    )
                    % {"count": len(found), "name": name, "address": main},
                )
            )
            return None
        if found and self.add_only:
            errors.append(
                (
                    "name",
                    _(
                        "A user named “%(name)s” with the main e-mail address “%(address)s” already exists."
                    )
                    % {"name": name, "address": main},
                )
            )
            return None
        return found[0] if found else None

    def _code_changed(
        self,
        code: str,
        name: str,
        emails: tuple[EmailRow, ...],
        existing: Existing | None,
        errors: list[tuple[str, str]],
    ) -> bool:
        """A row that would add a second person because its employee code is not the one the
        contract knows: its main address (or its name and the code without leading zeros) is an
        existing user's, who has another code. Spreadsheets drop leading zeros (Excel opens
        ``00123`` as the number 123), so the message names that cause when it fits. Returns
        whether the row was reported."""
        if not code or existing is not None:
            return False
        main = main_address(emails)
        owner = self.by_main.get(address_key(main)) if main else None
        if owner is None:
            same_name = [u for u in self.by_unpadded.get(code.lstrip("0"), []) if u.name == name]
            owner = same_name[0] if len(same_name) == 1 else None
        if owner is None or not owner.employee_code or owner.employee_code == code:
            return False
        values = {
            "address": main_address(owner.emails) or "",
            "name": owner.name,
            "existing": owner.employee_code,
            "code": code,
        }
        if owner.employee_code.lstrip("0") == code.lstrip("0"):
            message = _(
                "This row gives the employee code “%(code)s”, and “%(name)s” (main e-mail address “%(address)s”) has “%(existing)s”: a spreadsheet probably removed the leading zeros (Excel reads 00123 as the number 123). Importing it would add a second “%(name)s”. Format the employee_code column as text in the spreadsheet, or write “%(existing)s”."
            )
        else:
            message = _(
                "The main e-mail address “%(address)s” belongs to “%(name)s”, whose employee code is “%(existing)s”, not “%(code)s”. If this is the same person, write “%(existing)s” (change a code on the user's page); two users cannot share a main address."
            )
        errors.append(("employee_code", message % values))
        return True

    def _duplicates(
        self,
        number: int,
        data: UserData,
        existing: Existing | None,
        errors: list[tuple[str, str]],
    ) -> None:
        """Two rows of the file about the same user, or giving the same employee code or main
        e-mail address."""
        code = data.employee_code
        if code and not (existing and existing.employee_code == code):
            if code in self.codes_seen:
                errors.append(
                    (
                        "employee_code",
                        _("The employee code “%(code)s” is also on row %(row)d.")
                        % {"code": code, "row": self.codes_seen[code]},
                    )
                )
            self.codes_seen.setdefault(code, number)
        if existing is not None:
            if existing.id in self.users_seen:
                errors.append(
                    (
                        "name",
                        _("Row %(row)d is already about this user.")
                        % {"row": self.users_seen[existing.id]},
                    )
                )
            self.users_seen.setdefault(existing.id, number)
        main = main_address(data.emails)
        if main:
            first = self.mains_seen.setdefault(address_key(main), number)
            # Two rows about one user are reported above, once.
            if first != number and (existing is None or self.users_seen[existing.id] != first):
                errors.append(
                    (
                        "emails",
                        _(
                            "Row %(row)d has the same main e-mail address “%(address)s”. Two users cannot share a main address."
                        )
                        % {"row": first, "address": main},
                    )
                )

    def _authorize_move(self, existing: Existing, errors: list[tuple[str, str]]) -> None:
        try:
            authorize(self.actor, "users.import", self.organizations[existing.organization_id])
        except OutOfScope:
            errors.append(("name", _("This user is outside the organizations you manage.")))
        me = self.actor.account
        if (
            existing.account is not None
            and me is not None
            and me.privilege != Account.Privilege.SYSTEM_ADMIN
            and existing.account["privilege"] != Account.Privilege.OPERATOR
        ):
            errors.append(
                ("name", _("Only a System administrator can change an administrator's user data."))
            )

    # Accounts ------------------------------------------------------------------------------

    def _account(
        self,
        number: int,
        cells: dict[str, str],
        organization: Organization | None,
        existing: Existing | None,
        errors: list[tuple[str, str]],
    ) -> AccountData | None:
        current = existing.account if existing else None
        wanted = cells.get("account_name", "").strip() or cells.get("privilege", "").strip()
        if current is None and not wanted:
            return None
        given = {c: cells[c].strip() for c in ACCOUNT_CELLS if c in cells}
        if current is not None:
            errors += _account_differences(current, given)
            return None
        data = self._account_data(given, organization, errors)
        if data is None or organization is None:
            return None
        try:
            authorize(self.actor, "accounts.add", organization)
            data = account_data_clean(
                self.actor,
                data,
                contract_id=self.contract_id,
                account=None,
                name_taken=lambda name: account_name_key(name) in self.account_names,
            )
            grant_check(self.actor, data, None)
        except ValidationError as exc:
            errors += [
                (ACCOUNT_COLUMNS.get(key, "privilege"), m)
                for key, ms in exc.message_dict.items()
                for m in ms
            ]
            return None
        except PermissionDenied:
            errors.append(
                ("privilege", _("Your admin privilege does not allow adding Mamori accounts."))
            )
            return None
        except OutOfScope:
            return None  # the organization column says so already
        self._account_duplicates(number, data, errors)
        return data

    def _account_data(
        self,
        given: dict[str, str],
        organization: Organization | None,
        errors: list[tuple[str, str]],
    ) -> AccountData | None:
        name, privilege = given.get("account_name", ""), given.get("privilege", "")
        bad = len(errors)
        if not (name and privilege):
            errors.append(
                (
                    "privilege" if name else "account_name",
                    _("Give both the account name and the admin privilege, or neither."),
                )
            )
        elif privilege not in Account.Privilege.values:
            errors.append(
                (
                    "privilege",
                    _(
                        "“%(value)s” is not an admin privilege: use system_admin, department_admin, operator or custom_admin."
                    )
                    % {"value": privilege},
                )
            )
        scheme_name = given.get("permission_scheme", "")
        scheme = self.schemes.get(scheme_name)
        if scheme_name and scheme is None:
            errors.append(
                (
                    "permission_scheme",
                    _("No custom permission scheme is named “%(name)s”.") % {"name": scheme_name},
                )
            )
        flags = {}
        for column in ("support_option", "receive_notice_mail"):
            try:
                flags[column] = csv_format.parse_yes_no(given.get(column, ""))
            except ValidationError as exc:
                errors.append((column, exc.messages[0]))
        if len(errors) > bad or organization is None:
            return None
        return AccountData(
            name=name,
            privilege=privilege,
            support_option=flags["support_option"],
            receive_notice_mail=flags["receive_notice_mail"],
            language=given.get("language") or self.language,
            timezone=given.get("timezone") or self.timezone,
            # Imported department and custom administrators manage the user's own organization.
            scope_organizations=(organization,),
            scheme=scheme,
        )

    def _account_duplicates(
        self, number: int, data: AccountData, errors: list[tuple[str, str]]
    ) -> None:
        key = account_name_key(data.name)
        if key in self.names_seen:
            errors.append(
                (
                    "account_name",
                    _("The account name “%(name)s” is also on row %(row)d.")
                    % {"name": data.name, "row": self.names_seen[key]},
                )
            )
        self.names_seen.setdefault(key, number)
        if data.support_option:
            self.support_rows.append(number)

    def _support_option_limit(self) -> None:
        """At most 5 per contract, counting the file's rows in order; re-checked under the
        contract's lock when the import runs."""
        room = max(SUPPORT_OPTION_LIMIT - self.support_holders, 0)
        for number in self.support_rows[room:]:
            self.plan.error(
                number,
                "support_option",
                _(
                    "At most %(limit)d accounts per contract can have the support option: %(held)d already do, and this file gives it to %(wanted)d more."
                )
                % {
                    "limit": SUPPORT_OPTION_LIMIT,
                    "held": self.support_holders,
                    "wanted": len(self.support_rows),
                },
            )
        if len(self.support_rows) > room:
            failed = set(self.support_rows[room:])
            self.plan.users = [u for u in self.plan.users if u.row not in failed]


def main_address(emails: tuple[EmailRow, ...] | list[EmailRow]) -> str | None:
    return next((a for a, c in emails if c == MAIN), None)


def _outside(path: str) -> str:
    return _("“%(path)s” is outside the organizations you manage.") % {"path": path}


def _length_errors(data: UserData) -> list[tuple[str, str]]:
    # Limits the Add User form enforces with its fields' max_length.
    errors = [
        (field, _("At most %(limit)d characters.") % {"limit": limit})
        for field, limit in LENGTH_LIMITS.items()
        if len(getattr(data, field)) > limit
    ]
    if any(len(address) > ADDRESS_LIMIT for address, _c in data.emails):
        errors.append(("emails", _("At most %(limit)d characters.") % {"limit": ADDRESS_LIMIT}))
    return errors


def _account_differences(account: dict[str, Any], given: dict[str, str]) -> list[tuple[str, str]]:
    errors = []
    for column, value in given.items():
        if not value:
            continue
        current = account[column]
        if isinstance(current, bool):
            try:
                same = csv_format.parse_yes_no(value) == current
            except ValidationError:
                same = False
            current = csv_format.format_yes_no(current)
        elif column == "account_name":  # a name is one in any letter case or width
            current = current or ""
            same = account_name_key(value) == account_name_key(current)
        else:
            current = current or ""
            same = value == current
        if not same:
            errors.append(
                (
                    column,
                    _(
                        "This user's Mamori account has “%(current)s” here. An import never changes an existing account: leave the cell empty or as it is, and change the account on the user's page."
                    )
                    % {"current": current},
                )
            )
    return errors


def _planned(
    number: int, data: UserData, existing: Existing | None, account: AccountData | None
) -> PlannedUser:
    if existing is None:
        return PlannedUser(number, data, None, True, True, account)
    changed = data.organization.pk != existing.organization_id or any(
        getattr(data, f) != getattr(existing, f) for f in USER_FIELDS
    )
    return PlannedUser(
        number, data, existing, changed, list(data.emails) != existing.emails, account
    )
