"""Writes to Users/Org."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import unicodedata
from collections.abc import Callable, Iterator

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Concat, Substr
from django.utils.translation import gettext as _

from mamori.audit.services import LogRecord, Target, log_record, log_records
from mamori.core.access import OutOfScope, authorize, require_manages
from mamori.core.actor import Actor
from mamori.core.fields import max_lengths, values_of
from mamori.core.once import once_check, once_claim
from mamori.core.text import code_point, control_character, invisible_character, line_break, nfkc
from mamori.directory.audit_actions import DirectoryAction
from mamori.directory.deletion import organization_deleting, users_deleting
from mamori.directory.models import USER_FIELDS, Organization, User, UserEmail, address_key
from mamori.directory.ordering import sibling_key

_KATAKANA = re.compile(r"^[\u30a1-\u30fe\u3000]*$")


def normalize_furigana(value: str) -> str:
    """Full-width katakana from katakana, half-width katakana or hiragana; refuse anything else.

    Spaces (either width) are kept as single full-width spaces between words.
    """
    text = unicodedata.normalize("NFKC", value)  # half-width katakana -> full-width
    text = "".join(chr(ord(ch) + 0x60) if "\u3041" <= ch <= "\u3096" else ch for ch in text)
    text = text.replace("ゝ", "ヽ").replace("ゞ", "ヾ")
    text = re.sub(r"[\s\u3000]+", "\u3000", text).strip("\u3000")
    if not _KATAKANA.match(text):
        raise ValidationError(
            _(
                "Furigana must be written in katakana (hiragana and half-width katakana are converted)."
            ),
            code="invalid_furigana",
        )
    return text


# Organizations ------------------------------------------------------------------------------


def organization_target(organization: Organization) -> Target:
    return Target("organization", organization.pk, organization.name)


# The CSV's path separator: a slash standing alone between spaces (``ACME / 営業部``), or at
# either end of a name next to a space. ``営業/企画`` is a name; ``営業 / 企画`` would be two.
_PATH_SEPARATOR = re.compile(r"(?:^|\s)/(?:\s|$)")


def organization_name_check(name: str) -> str:
    """An organization's name without surrounding spaces, or a ValidationError saying what is wrong.

    A name never holds the users CSV's path separator (“ / ”, a slash with spaces around it):
    the CSV writes a path as names joined by it, and reading that path again must give the same
    organizations (export, then import, changes nothing).
    """
    name = name.strip()
    if not name:
        raise ValidationError({"name": [_("Enter the organization name.")]})
    if len(name) > 200:
        raise ValidationError({"name": [_("An organization name is at most 200 characters.")]})
    if control_character(name) or line_break(name):
        raise ValidationError(
            {"name": [_("Control characters (such as NUL or a tab) are not allowed.")]}
        )
    if _PATH_SEPARATOR.search(name):
        raise ValidationError(
            {
                "name": [
                    _(
                        "An organization name cannot contain “ / ” (a slash between spaces): the users CSV separates the organizations of a path with it. Write the slash without spaces, as in “%(example)s”."
                    )
                    % {"example": _PATH_SEPARATOR.sub("/", name).strip()}
                ]
            }
        )
    return name


def _sibling_name_taken(parent: Organization, name: str) -> ValidationError:
    return ValidationError(
        {
            "name": [
                _("“%(parent)s” already has an organization named “%(name)s”.")
                % {"parent": parent.name, "name": name}
            ]
        }
    )


def _clean_org_name(name: str, parent: Organization, exclude: int | None = None) -> str:
    name = organization_name_check(name)
    siblings = Organization.objects.filter(parent=parent, name=name).exclude(pk=exclude or 0)
    if siblings.exists():
        raise _sibling_name_taken(parent, name)
    return name


@contextlib.contextmanager
def _sibling_names_held(parent: Organization, name: str) -> Iterator[None]:
    """A transaction in which a sibling with the same name saved meanwhile (the unique
    constraint) is the same clear message as one found before."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        raise _sibling_name_taken(parent, name) from exc


def organization_create(*, actor: Actor, parent: Organization, name: str) -> Organization:
    """Add an organization under ``parent``."""
    authorize(actor, "organizations.add", parent)
    name = _clean_org_name(name, parent)
    with _sibling_names_held(parent, name):
        organization = Organization.objects.create(
            contract_id=parent.contract_id, parent=parent, name=name
        )
        organization.path = f"{parent.path}{organization.pk}/"
        organization.save(update_fields=["path"])
        log_record(
            contract=parent.contract,
            actor=actor,
            action=DirectoryAction.ORGANIZATION_CREATED,
            target=organization_target(organization),
            after={"name": name, "parent": parent.name},
            organization_id=organization.pk,
        )
    return organization


def organization_rename(*, actor: Actor, organization: Organization, name: str) -> None:
    authorize(actor, "organizations.change", organization)
    before = organization.name
    if organization.parent is None:
        name = organization_name_check(name)
    else:
        name = _clean_org_name(name, organization.parent, exclude=organization.pk)
    if name == before:
        return
    holder = (
        _sibling_names_held(organization.parent, name)
        if organization.parent is not None
        else transaction.atomic()
    )
    with holder:
        organization.name = name
        organization.save(update_fields=["name"])
        log_record(
            contract=organization.contract,
            actor=actor,
            action=DirectoryAction.ORGANIZATION_RENAMED,
            target=organization_target(organization),
            before={"name": before},
            after={"name": name},
            organization_id=organization.pk,
        )


def organization_move(*, actor: Actor, organization: Organization, parent: Organization) -> None:
    """Put an organization (with everything below it) under another parent."""
    authorize(actor, "organizations.change", organization, parent)
    if organization.parent_id is None:
        raise ValidationError(_("The top organization cannot be moved."))
    if parent.path.startswith(organization.path):
        raise ValidationError(
            {
                "parent": [
                    _(
                        "An organization cannot be moved under itself or one of its sub-organizations."
                    )
                ]
            }
        )
    if parent.pk == organization.parent_id:
        return
    _clean_org_name(organization.name, parent, exclude=organization.pk)
    old_parent = organization.parent
    old_path, new_path = organization.path, f"{parent.path}{organization.pk}/"
    with _sibling_names_held(parent, organization.name):
        Organization.objects.filter(pk=organization.pk).update(parent=parent)
        # One statement rewrites the whole subtree's paths.
        Organization.objects.filter(
            contract_id=organization.contract_id, path__startswith=old_path
        ).update(path=Concat(Value(new_path), Substr("path", len(old_path) + 1)))
        log_record(
            contract=organization.contract,
            actor=actor,
            action=DirectoryAction.ORGANIZATION_MOVED,
            target=organization_target(organization),
            before={"parent": old_parent.name if old_parent else None},
            after={"parent": parent.name},
            organization_id=organization.pk,
        )
    organization.parent, organization.path = parent, new_path


def organization_delete(*, actor: Actor, organization: Organization) -> None:
    """Delete an empty organization: no sub-organizations, no users, no account scoped to it."""
    authorize(actor, "organizations.delete", organization)
    if organization.parent_id is None:
        raise ValidationError(_("The top organization cannot be deleted."))
    if organization.children.exists():
        raise ValidationError(
            _("“%(name)s” has sub-organizations. Move or delete them first.")
            % {"name": organization.name}
        )
    if organization.users.exists():
        raise ValidationError(
            _("“%(name)s” has users. Move or delete them first.") % {"name": organization.name}
        )
    if organization.scope_accounts.exists():
        raise ValidationError(
            _("“%(name)s” is the scope of an administrator account. Change that account first.")
            % {"name": organization.name}
        )
    with transaction.atomic():
        # What the apps above do with what the organization holds (its enrollment tokens).
        theirs = organization_deleting(actor, organization)
        deleted = LogRecord(
            contract=organization.contract,
            actor=actor,
            action=DirectoryAction.ORGANIZATION_DELETED,
            target=organization_target(organization),
            before={
                "name": organization.name,
                "parent": organization.parent.name if organization.parent else None,
            },
            organization_id=organization.parent_id,
        )
        organization.delete()
        log_records([deleted, *theirs])


# Users --------------------------------------------------------------------------------------

EmailRow = tuple[str, str]  # (address, category)
# Read once: the enum's properties rebuild their lists on every access (a CSV import checks
# hundreds of thousands of addresses).
_CATEGORIES = frozenset(UserEmail.Category.values)
_MAIN = UserEmail.Category.MAIN.value
USER_FIELD_LIMITS = max_lengths(User, ("employee_code", "title", "phone", "mobile_phone"))


@dataclasses.dataclass(frozen=True, kw_only=True)
class UserData:
    """What a person enters for a user: the Add User form, the API and a CSV row alike."""

    organization: Organization
    name: str
    furigana: str = ""
    employee_code: str = ""
    title: str = ""
    phone: str = ""
    mobile_phone: str = ""
    emails: tuple[EmailRow, ...] = ()


def employee_code_normalize(code: str) -> str:
    """An employee code as it is stored, compared and searched: NFKC (``Ｅ０００１`` is ``E0001``),
    without surrounding spaces."""
    return nfkc(code)


def user_data_clean(data: UserData, *, contract_id: int, exclude: int | None = None) -> UserData:
    """Check and normalise a user's data; raise a ValidationError naming every bad field."""

    def code_taken(code: str) -> bool:
        users = User.objects.filter(contract_id=contract_id, employee_code=code)
        return users.exclude(pk=exclude or 0).exists()

    def main_taken(key: str) -> bool:
        users = User.objects.filter(contract_id=contract_id, main_address_key=key)
        return users.exclude(pk=exclude or 0).exists()

    return user_data_check(data, code_taken=code_taken, main_taken=main_taken)


def user_data_check(
    data: UserData,
    *,
    code_taken: Callable[[str], bool],
    main_taken: Callable[[str], bool] = lambda key: False,
) -> UserData:
    """``user_data_clean`` with the lookups given by the caller: a CSV import checks a whole file
    against the employee codes and main addresses it read in one query each.

    ``code_taken(code)`` and ``main_taken(address_key(address))`` say whether another user of
    the contract has that employee code or main e-mail address. E-mail errors are keyed by the
    address's position in ``data.emails`` (``emails.2.address``); empty addresses are dropped.
    """
    errors: dict[str, list[str]] = {}
    name = data.name.strip()
    if not name:
        errors["name"] = [_("Enter the name.")]
    elif len(name) > 200:
        errors["name"] = [_("A name is at most 200 characters.")]
    furigana = ""
    try:
        furigana = normalize_furigana(data.furigana) if data.furigana.strip() else ""
    except ValidationError as exc:
        errors["furigana"] = list(exc.messages)
    code = employee_code_normalize(data.employee_code)
    if len(code) > USER_FIELD_LIMITS["employee_code"]:  # NFKC may lengthen it (㍿ is 株式会社)
        errors["employee_code"] = [
            _("At most %(limit)d characters.") % {"limit": USER_FIELD_LIMITS["employee_code"]}
        ]
    elif code and code_taken(code):
        errors["employee_code"] = [
            _("The employee code “%(code)s” is already used by another user.") % {"code": code}
        ]
    for field in ("title", "phone", "mobile_phone"):
        limit = USER_FIELD_LIMITS[field]
        if len(getattr(data, field).strip()) > limit:
            errors[field] = [_("At most %(limit)d characters.") % {"limit": limit}]
    texts = {"name": name, "employee_code": code}
    texts.update({f: getattr(data, f).strip() for f in ("title", "phone", "mobile_phone")})
    for field, value in texts.items():
        # One line each: a line break or a control character would end a mail header or a
        # CSV row, and nobody types one in a name on purpose.
        if field not in errors and (control_character(value) or line_break(value)):
            errors[field] = [_("Control characters (such as NUL or a tab) are not allowed.")]
    errors.update(_email_errors(data.emails, main_taken))
    if errors:
        raise ValidationError(errors)
    return dataclasses.replace(
        data,
        name=name,
        furigana=furigana,
        employee_code=code,
        title=data.title.strip(),
        phone=data.phone.strip(),
        mobile_phone=data.mobile_phone.strip(),
        emails=tuple((a.strip(), c) for a, c in data.emails if a.strip()),
    )


def email_address_errors(address: str) -> list[str]:
    """What is wrong with one e-mail address (already stripped), or nothing.

    Beyond Django's ``validate_email``: no invisible character (a right-to-left mark, a
    zero-width space, a byte-order mark, a control character), which ``validate_email`` lets
    through in the domain and a mail server would refuse or deliver elsewhere.
    """
    hidden = invisible_character(address, spaces=True)
    if hidden is not None:
        return [
            _(
                "“%(address)s” contains an invisible character (%(character)s). Type the address again instead of pasting it."
            )
            % {"address": address, "character": code_point(hidden)}
        ]
    try:
        validate_email(address)
    except ValidationError:
        return [_("“%(address)s” is not a valid e-mail address.") % {"address": address}]
    return []


def _email_errors(
    emails: tuple[EmailRow, ...], main_taken: Callable[[str], bool]
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    given = [(i, a.strip(), c) for i, (a, c) in enumerate(emails) if a.strip()]
    for i, address, category in given:
        if problems := email_address_errors(address):
            errors[f"emails.{i}.address"] = problems
        elif address_key(address) in seen:
            errors[f"emails.{i}.address"] = [
                _("“%(address)s” is entered twice.") % {"address": address}
            ]
        elif category == _MAIN and main_taken(address_key(address)):
            errors[f"emails.{i}.address"] = [
                _("“%(address)s” is already the main e-mail address of another user.")
                % {"address": address}
            ]
        seen.add(address_key(address))
        if category not in _CATEGORIES:
            errors[f"emails.{i}.category"] = [_("Choose a category.")]
    mains = sum(1 for _i, _a, c in given if c == _MAIN)
    if not given:
        errors["emails"] = [_("Enter at least one e-mail address, and mark it as main.")]
    elif mains != 1:
        errors["emails"] = [
            _("Exactly one e-mail address must have the category “Main” (now: %(count)d).")
            % {"count": mains}
        ]
    return errors


def _user_values(user: User) -> dict[str, object]:
    return {
        **values_of(user, USER_FIELDS),
        "organization": user.organization.name,
        "emails": [f"{e.address} ({e.category})" for e in user.emails.order_by("id")],
    }


def user_target(user: User) -> Target:
    return Target("user", user.pk, user.name)


def organization_user_counts_refresh(contract_id: int) -> None:
    """Recount every organization's users in one statement (after bulk writes)."""
    direct = (
        User.objects.filter(organization=OuterRef("pk"))
        .order_by()
        .values("organization")
        .annotate(n=Count("pk"))
        .values("n")
    )
    Organization.objects.filter(contract_id=contract_id).update(
        user_count=Coalesce(Subquery(direct), 0)
    )


def _count_move(old: int | None, new: int | None) -> None:
    if old == new:
        return
    if old is not None:
        Organization.objects.filter(pk=old).update(user_count=F("user_count") - 1)
    if new is not None:
        Organization.objects.filter(pk=new).update(user_count=F("user_count") + 1)


def _save_user(user: User, data: UserData) -> None:
    old_organization = user.organization_id if user.pk else None
    for field in ("organization", *USER_FIELDS):
        setattr(user, field, getattr(data, field))
    user.main_address_key = address_key(next(a for a, c in data.emails if c == _MAIN))
    user.save()
    _count_move(old_organization, user.organization_id)
    user.emails.all().delete()
    UserEmail.objects.bulk_create(
        UserEmail(user=user, address=address, category=category)
        for address, category in data.emails
    )


@contextlib.contextmanager
def _taken_meanwhile(data: UserData, *, contract_id: int, exclude: int | None) -> Iterator[None]:
    """A transaction in which an employee code or main address another save took meanwhile (a
    unique constraint) is the same clear message as one found before."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        user_data_clean(data, contract_id=contract_id, exclude=exclude)  # raises the message
        raise ValidationError(
            _("Another administrator changed this user's data at the same moment. Try again.")
        ) from exc


def user_create(*, actor: Actor, data: UserData, once: str = "") -> User:
    """Add a user to Users/Org.

    ``once``: the Add User form's one-time token (``core.once``). The same token again (a
    double-clicked Save, a replayed POST) adds nothing and raises ``AlreadySubmitted`` with the
    user added the first time, also when both arrive at the same moment.
    """
    authorize(actor, "users.add", data.organization)
    contract_id = data.organization.contract_id
    key = f"users.add:{actor.account.pk if actor.account else 0}:{once}" if once else ""
    try:
        if key:
            once_check(key)
        data = user_data_clean(data, contract_id=contract_id)
    except ValidationError:
        if key:  # the first save of this form may have taken its code and address meanwhile
            once_check(key)
        raise
    with _taken_meanwhile(data, contract_id=contract_id, exclude=None):
        submission = once_claim(key) if key else None
        user = User(contract_id=contract_id)
        _save_user(user, data)
        if submission is not None:
            submission.done(user.pk)
        log_record(
            contract=data.organization.contract,
            actor=actor,
            action=DirectoryAction.USER_CREATED,
            target=user_target(user),
            after=_user_values(user),
            organization_id=user.organization_id,
        )
    return user


def user_update(*, actor: Actor, user: User, data: UserData) -> None:
    """Change a user, including moving them to another organization."""
    authorize(actor, "users.change", user.organization, data.organization)
    # An administrator's person record (name, main address) is theirs to protect like the account.
    account = getattr(user, "account", None)
    if account is not None:
        require_manages(actor, account)
    data = user_data_clean(data, contract_id=user.contract_id, exclude=user.pk)
    before = _user_values(user)
    with _taken_meanwhile(data, contract_id=user.contract_id, exclude=user.pk):
        _save_user(user, data)
        after = _user_values(user)
        if after == before:
            return
        changed = [k for k in after if after[k] != before[k]]
        log_record(
            contract=user.organization.contract,
            actor=actor,
            action=DirectoryAction.USER_UPDATED,
            target=user_target(user),
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
            organization_id=user.organization_id,
        )


def user_delete(*, actor: Actor, user: User) -> None:
    """Delete a user who has neither a Mamori account nor devices (the apps above refuse
    through ``directory.deletion``: Android's devices)."""
    authorize(actor, "users.delete", user.organization)
    if hasattr(user, "account"):
        raise ValidationError(
            _("%(name)s has a Mamori account. Delete the account first.") % {"name": user.name}
        )
    with transaction.atomic():
        theirs = users_deleting(actor, [user])
        _user_delete(actor, user, theirs)


def _user_delete(actor: Actor, user: User, theirs: list[LogRecord]) -> None:
    log_records(
        [
            LogRecord(
                contract=user.organization.contract,
                actor=actor,
                action=DirectoryAction.USER_DELETED,
                target=user_target(user),
                before=_user_values(user),
                organization_id=user.organization_id,
            ),
            *theirs,
        ]
    )
    _count_move(user.organization_id, None)
    user.delete()


def user_move(*, actor: Actor, user: User, organization: Organization) -> None:
    """Put a user in another organization (the user list's "Move"), logged as a change of the
    user's organization."""
    authorize(actor, "users.change", user.organization, organization)
    account = getattr(user, "account", None)
    if account is not None:
        require_manages(actor, account)
    if organization.contract_id != user.contract_id:
        raise OutOfScope
    if organization.pk == user.organization_id:
        return
    before = user.organization.name
    with transaction.atomic():
        old = user.organization_id
        user.organization = organization
        user.save(update_fields=["organization", "updated_at"])
        _count_move(old, organization.pk)
        log_record(
            contract=organization.contract,
            actor=actor,
            action=DirectoryAction.USER_UPDATED,
            target=user_target(user),
            before={"organization": before},
            after={"organization": organization.name},
            organization_id=organization.pk,
        )


def users_move(*, actor: Actor, users: list[User], organization: Organization) -> int:
    """Move several users (a bulk action): ``user_move`` for each, all in one transaction, so
    either all move or, when one is refused, none. Returns how many moved."""
    with transaction.atomic():
        moved = 0
        for user in users:
            if user.organization_id != organization.pk:
                user_move(actor=actor, user=user, organization=organization)
                moved += 1
    return moved


def users_delete(*, actor: Actor, users: list[User]) -> int:
    """Delete several users (a bulk action): ``user_delete`` for each, in one transaction. One
    that cannot be deleted (it has a Mamori account) refuses the whole action, naming it."""
    refused = [u.name for u in users if hasattr(u, "account")]
    if refused:
        raise ValidationError(
            _("These users have a Mamori account; delete their accounts first: %(names)s")
            % {"names": _(", ").join(refused)}
        )
    for user in users:
        authorize(actor, "users.delete", user.organization)
    with transaction.atomic():
        # The apps above refuse (naming every user held back) or make their writes once.
        theirs = users_deleting(actor, users)
        for index, user in enumerate(users):
            _user_delete(actor, user, theirs if index == 0 else [])
    return len(users)


def organization_reorder(*, actor: Actor, organization: Organization, step: int) -> None:
    """Move an organization up (``step=-1``) or down (``+1``) among its siblings. The siblings'
    order is then fixed as shown (positions 1…n), as an administrator sets a business order."""
    authorize(actor, "organizations.change", organization)
    if organization.parent_id is None or step not in (-1, 1):
        return
    with transaction.atomic():
        siblings = list(
            Organization.objects.select_for_update()
            .filter(parent_id=organization.parent_id)
            .only("id", "name", "position")
        )
        siblings.sort(key=lambda o: sibling_key(o.position, o.name, o.pk))
        index = next(i for i, o in enumerate(siblings) if o.pk == organization.pk)
        other = index + step
        if not 0 <= other < len(siblings):
            return
        before = index + 1
        siblings[index], siblings[other] = siblings[other], siblings[index]
        for number, sibling in enumerate(siblings, start=1):
            sibling.position = number
        Organization.objects.bulk_update(siblings, ["position"])
        log_record(
            contract=organization.contract,
            actor=actor,
            action=DirectoryAction.ORGANIZATION_REORDERED,
            target=organization_target(organization),
            before={"position": before},
            after={"position": other + 1},
            organization_id=organization.pk,
        )
