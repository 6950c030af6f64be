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

from mamori.audit.services import Target, log_record
from mamori.core.access import OutOfScope, authorize, require_manages
from mamori.core.actor import Actor
from mamori.core.fields import max_lengths, values_of
from mamori.directory.audit_actions import DirectoryAction
from mamori.directory.models import USER_FIELDS, Organization, User, UserEmail
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


def organization_name_check(name: str) -> str:
    """An organization's name without surrounding spaces, or a ValidationError saying what is wrong."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": [_("Enter the organization name.")]})
    if len(name) > 200:
        raise ValidationError({"name": [_("An organization name is at most 200 characters.")]})
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
        name = name.strip()
        if not name:
            raise ValidationError({"name": [_("Enter the organization name.")]})
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
        log_record(
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


# Users --------------------------------------------------------------------------------------

EmailRow = tuple[str, str]  # (address, category)
# Read once: the enum's properties rebuild their lists on every access (a CSV import checks
# hundreds of thousands of addresses).
_CATEGORIES = frozenset(UserEmail.Category.values)
_MAIN = UserEmail.Category.MAIN.value
USER_FIELD_LIMITS = max_lengths(User, ("title", "phone", "mobile_phone"))


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


def user_data_clean(data: UserData, *, contract_id: int, exclude: int | None = None) -> UserData:
    """Check and normalise a user's data; raise a ValidationError naming every bad field."""

    def code_taken(code: str) -> bool:
        users = User.objects.filter(contract_id=contract_id, employee_code=code)
        return users.exclude(pk=exclude or 0).exists()

    return user_data_check(data, code_taken=code_taken)


def user_data_check(data: UserData, *, code_taken: Callable[[str], bool]) -> UserData:
    """``user_data_clean`` with the employee-code lookup given by the caller: a CSV import checks
    a whole file against the codes it read in one query."""
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
    code = data.employee_code.strip()
    if code and code_taken(code):
        errors["employee_code"] = [
            _("The employee code “%(code)s” is already used by another user.") % {"code": code}
        ]
    for field in ("title", "phone", "mobile_phone"):
        limit = USER_FIELD_LIMITS[field]
        if len(getattr(data, field).strip()) > limit:
            errors[field] = [_("At most %(limit)d characters.") % {"limit": limit}]
    emails = tuple((a.strip(), c) for a, c in data.emails if a.strip())
    errors.update(_email_errors(emails))
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
        emails=emails,
    )


def _email_errors(emails: tuple[EmailRow, ...]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for i, (address, category) in enumerate(emails):
        try:
            validate_email(address)
        except ValidationError:
            errors[f"emails.{i}.address"] = [
                _("“%(address)s” is not a valid e-mail address.") % {"address": address}
            ]
        if address.casefold() in seen:
            errors[f"emails.{i}.address"] = [
                _("“%(address)s” is entered twice.") % {"address": address}
            ]
        seen.add(address.casefold())
        if category not in _CATEGORIES:
            errors[f"emails.{i}.category"] = [_("Choose a category.")]
    mains = sum(1 for _a, c in emails if c == _MAIN)
    if not emails:
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
    user.save()
    _count_move(old_organization, user.organization_id)
    user.emails.all().delete()
    UserEmail.objects.bulk_create(
        UserEmail(user=user, address=address, category=category)
        for address, category in data.emails
    )


def user_create(*, actor: Actor, data: UserData) -> User:
    """Add a user to Users/Org."""
    authorize(actor, "users.add", data.organization)
    data = user_data_clean(data, contract_id=data.organization.contract_id)
    try:
        with transaction.atomic():
            user = User(contract_id=data.organization.contract_id)
            _save_user(user, data)
            log_record(
                contract=data.organization.contract,
                actor=actor,
                action=DirectoryAction.USER_CREATED,
                target=user_target(user),
                after=_user_values(user),
                organization_id=user.organization_id,
            )
    except IntegrityError as exc:  # a concurrent save took the employee code
        raise ValidationError(
            {"employee_code": [_("This employee code is already used by another user.")]}
        ) from exc
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
    try:
        with transaction.atomic():
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
    except IntegrityError as exc:
        raise ValidationError(
            {"employee_code": [_("This employee code is already used by another user.")]}
        ) from exc


def user_delete(*, actor: Actor, user: User) -> None:
    """Delete a user who has neither a Mamori account nor devices."""
    authorize(actor, "users.delete", user.organization)
    if hasattr(user, "account"):
        raise ValidationError(
            _("%(name)s has a Mamori account. Delete the account first.") % {"name": user.name}
        )
    with transaction.atomic():
        log_record(
            contract=user.organization.contract,
            actor=actor,
            action=DirectoryAction.USER_DELETED,
            target=user_target(user),
            before=_user_values(user),
            organization_id=user.organization_id,
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
    with transaction.atomic():
        for user in users:
            user_delete(actor=actor, user=user)
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
