"""Users/Org pages: the organization tree beside the user list, users, and their accounts."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from mamori.core.access import NotFound, Principal
from mamori.core.actor import Actor
from mamori.core.decorators import account_required
from mamori.core.fields import values_of
from mamori.core.forms import add_service_errors
from mamori.core.once import AlreadySubmitted, once_token, once_token_valid
from mamori.core.replica import replica_reads
from mamori.core.timezones import timezone_label
from mamori.core.widgets import FastSelect
from mamori.directory import services
from mamori.directory.forms import (
    EMAIL_ROWS_MAX,
    EmailFormSet,
    OrganizationMoveForm,
    OrganizationNameForm,
    UserForm,
    organization_options,
)
from mamori.directory.models import USER_FIELDS, Organization, User
from mamori.directory.notes import org_notes_apply
from mamori.directory.sections import user_sections
from mamori.directory.selectors import (
    COUNT_LIMIT,
    USER_SORTS,
    UserQuery,
    organization_get,
    organization_path_names,
    organization_tree,
    tree_opened_at,
    user_get,
    user_page,
    users_selected,
    users_visible_to,
)

PAGE_SIZE = 50


def _me(request: HttpRequest) -> Principal:
    return request.user  # type: ignore[return-value]


def _url(request: HttpRequest, name: str, **kwargs: Any) -> str:
    return reverse(f"panel:{name}", kwargs={"domain": request.contract.domain, **kwargs})  # type: ignore[attr-defined]


# The user list ------------------------------------------------------------------------------

PAGE_SIZES = (25, 50, 100)
SORTABLE = ("name", "furigana", "employee_code", "organization")


def _user_query(request: HttpRequest, selected: Organization | None) -> UserQuery:
    sort = request.GET.get("sort", "furigana")
    return UserQuery(
        search=request.GET.get("q", "")[:100],
        organization=selected,
        include_sub_organizations=request.GET.get("sub", "1") != "0",
        sort=sort if sort.removeprefix("-") in USER_SORTS else "furigana",
    )


def _page_size(request: HttpRequest) -> int:
    size = _int(request.GET.get("size"))
    return size if size in PAGE_SIZES else PAGE_SIZE


def _sort_links(params: QueryDict, current: str) -> dict[str, dict[str, str]]:
    """Per sortable column: the link that sorts by it (reversed when it is the current order)
    and, for the current column, its direction for aria-sort."""
    links = {}
    for column in SORTABLE:
        query = params.copy()
        query.pop("after", None)
        active = current.removeprefix("-") == column
        query["sort"] = f"-{column}" if active and not current.startswith("-") else column
        links[column] = {
            "url": f"?{query.urlencode()}",
            "aria": ("descending" if current.startswith("-") else "ascending") if active else "",
        }
    return links


@require_safe
@account_required
@replica_reads
def users_list(request: HttpRequest) -> HttpResponse:
    """Users/Org: the tree on the left, the users of the chosen organization on the right."""
    me = _me(request)
    tree = organization_tree(me, "users.view")
    selected = _selected_organization(request, "users.view")
    query = _user_query(request, selected)
    after = request.GET.get("after", "")
    page = user_page(me, query, tree, after=after, size=_page_size(request))
    params = request.GET.copy()
    params.pop("after", None)
    can = me.permissions
    return render(
        request,
        "directory/users_list.html",
        {
            "tree": org_notes_apply(me, tree_opened_at(tree, selected)),
            "selected": selected,
            "selected_node": next((n for n in tree if selected and n.id == selected.pk), None),
            "query": query,
            "page": page,
            "count_limit": f"{COUNT_LIMIT:,}",
            "params": params.urlencode(),
            "sorts": _sort_links(params, query.sort),
            "page_sizes": PAGE_SIZES,
            "page_size": _page_size(request),
            "first_page": not after,
            "users_url": _url(request, "users"),
            "bulk": "users.change" in can or "users.delete" in can or "users.export" in can,
            "tab": "users",
        },
    )


@require_POST
@account_required
def users_bulk(request: HttpRequest) -> HttpResponse:
    """A bulk action on the chosen users of the list: move them to an organization, or delete
    them, through the services (one transaction, one log entry per user)."""
    me = _me(request)
    action = request.POST.get("action", "")
    permission = {"move": "change", "delete": "delete"}.get(action)
    back = request.POST.get("next", "")
    back = back if back.startswith(_url(request, "users")) else _url(request, "users")
    ids = [i for i in (_int(v) for v in request.POST.getlist("user")) if i is not None]
    if permission is None or not ids:
        messages.error(request, _("Choose at least one user and an action."))
        return HttpResponseRedirect(back)
    users = list(users_selected(me, ids, permission))
    if len(users) != len(set(ids)):  # another contract's or organization's user: not there
        raise NotFound
    actor = Actor.from_request(request)
    try:
        if action == "move":
            target = _int(request.POST.get("organization"))
            if target is None:  # the first step: where to?
                return _users_move_page(request, users, back)
            organization = organization_get(me, target, "users.change")
            moved = services.users_move(actor=actor, users=users, organization=organization)
            messages.success(
                request,
                ngettext(
                    "%(count)d user has been moved to “%(name)s”.",
                    "%(count)d users have been moved to “%(name)s”.",
                    moved,
                )
                % {"count": moved, "name": organization.name},
            )
        else:
            deleted = services.users_delete(actor=actor, users=users)
            messages.success(
                request,
                ngettext(
                    "%(count)d user has been deleted.",
                    "%(count)d users have been deleted.",
                    deleted,
                )
                % {"count": deleted},
            )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return HttpResponseRedirect(back)


def _selected_organization(request: HttpRequest, action: str) -> Organization | None:
    """The organization named by ``?org=``; one the account cannot see is a 404."""
    wanted = _int(request.GET.get("org"))
    return organization_get(_me(request), wanted, action) if wanted is not None else None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _users_move_page(request: HttpRequest, users: list[User], back: str) -> HttpResponse:
    """The bulk move's second step: the organization to move the chosen users to (a thousand
    organizations are listed here, not on every view of the list)."""
    options = organization_options(_me(request), "users.change")
    select = FastSelect(choices=options).render(
        "organization", None, attrs={"id": "bulk-organization", "class": "form-select"}
    )
    return render(
        request,
        "directory/users_move.html",
        {"users": users, "select": select, "back": back, "tab": "users"},
    )


# Adding and editing users -------------------------------------------------------------------


def _email_formset(data: QueryDict | None, initial: list[dict[str, str]] | None = None) -> Any:
    formset = EmailFormSet(data, initial=initial, prefix="emails")
    if data is not None and "add_email" in data:
        # "Add e-mail address" re-shows the form with one more empty row, keeping what was typed.
        mutable = data.copy()
        rows = _int(data.get("emails-TOTAL_FORMS")) or 1  # a tampered count: start from one
        mutable["emails-TOTAL_FORMS"] = str(max(1, min(rows, EMAIL_ROWS_MAX - 1)) + 1)
        formset = EmailFormSet(mutable, prefix="emails")
        formset.extra_row_requested = True  # type: ignore[attr-defined]
    return formset


def _without_errors(form: UserForm, formset: Any) -> None:
    """Show bound ``form`` and ``formset`` with their values but without checking them (Django
    checks a bound form when its errors are first read, as the error summary does)."""
    for each in (form, *formset.forms):
        each._errors = ErrorDict()
    formset._errors = [ErrorDict() for _form in formset.forms]
    formset._non_form_errors = formset.error_class()


def _user_data(
    request: HttpRequest, form: UserForm, formset: Any, action: str
) -> services.UserData:
    data = form.cleaned_data
    organization = organization_get(_me(request), data["organization"], action)
    emails = tuple(
        (row.cleaned_data.get("address", ""), row.cleaned_data.get("category", ""))
        for row in formset.forms
        if row.is_valid()
    )
    return services.UserData(
        organization=organization, emails=emails, **{f: data[f] for f in USER_FIELDS}
    )


def _show_email_errors(exc: ValidationError, formset: Any) -> list[str]:
    """Put ``emails.N.field`` errors on their rows; return the ones about all the e-mails."""
    general: list[str] = []
    if not hasattr(exc, "error_dict"):
        return general
    for key, messages_ in exc.message_dict.items():
        if key == "emails":
            general += messages_
        elif key.startswith("emails."):
            _prefix, index, field = key.split(".")
            if int(index) < len(formset.forms):
                formset.forms[int(index)].add_error(field, messages_)
    return general


def _user_form_page(request: HttpRequest, user: User | None) -> HttpResponse:
    me = _me(request)
    action = "users.add" if user is None else "users.change"
    organizations = organization_options(me, action)
    if user is None:
        selected = _selected_organization(request, action)
        initial: dict[str, Any] = (
            {"organization": selected.pk if selected else organizations.choices[0][0]}
            if organizations
            else {}
        )
        initial["form_token"] = once_token()
        # A new user's first address is the main one until the person says otherwise.
        email_initial = [{"address": "", "category": "main"}]
    else:
        initial = values_of(user, USER_FIELDS)
        initial["organization"] = user.organization_id
        email_initial = [{"address": e.address, "category": e.category} for e in user.emails.all()]
    data = request.POST if request.method == "POST" else None
    form = UserForm(data, initial=initial, organizations=organizations)
    formset = _email_formset(data, email_initial)
    email_errors: list[str] = []
    if data is not None and "add_email" in data:
        # Asking for one more row is not a save: what was typed is shown again, unjudged.
        _without_errors(form, formset)
    if data is not None and "add_email" not in data and form.is_valid() and formset.is_valid():
        actor = Actor.from_request(request)
        try:
            user_data = _user_data(request, form, formset, action)
            if user is None:
                token = form.cleaned_data["form_token"]
                once = token if once_token_valid(token) else ""
                user = services.user_create(actor=actor, data=user_data, once=once)
                messages.success(request, _("%(name)s has been added.") % {"name": user.name})
            else:
                services.user_update(actor=actor, user=user, data=user_data)
                messages.success(request, _("%(name)s has been saved.") % {"name": user.name})
            return HttpResponseRedirect(_url(request, "user_detail", user_id=user.pk))
        except AlreadySubmitted as exc:
            return _already_added(request, exc.object_id)
        except ValidationError as exc:
            email_errors = _show_email_errors(exc, formset)
            plain = (
                ValidationError(
                    {k: v for k, v in exc.message_dict.items() if not k.startswith("emails")}
                )
                if hasattr(exc, "error_dict")
                else exc
            )
            if not hasattr(plain, "error_dict") or plain.error_dict:
                add_service_errors(form, plain)
    return render(
        request,
        "directory/user_form.html",
        {
            "form": form,
            "formset": formset,
            "email_errors": email_errors,
            "user_obj": user,
            "cancel_url": _url(request, "user_detail", user_id=user.pk)
            if user is not None and user.pk
            else _url(request, "users"),
            "tab": "users",
        },
    )


def _already_added(request: HttpRequest, user_id: int | None) -> HttpResponse:
    """The Add User form was saved before (a double-clicked Save, the same POST again): show
    the user it added, once, rather than a second one."""
    messages.info(request, _("This form was already saved: the user was added once, not twice."))
    if user_id is not None and users_visible_to(_me(request)).filter(pk=user_id).exists():
        return HttpResponseRedirect(_url(request, "user_detail", user_id=user_id))
    return HttpResponseRedirect(_url(request, "users"))


@account_required
def user_add(request: HttpRequest) -> HttpResponse:
    return _user_form_page(request, None)


@account_required
def user_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    user = user_get(_me(request), user_id, "change")
    return _user_form_page(request, user)


@require_safe
@account_required
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    me = _me(request)
    user = user_get(me, user_id)
    account = getattr(user, "account", None)
    return render(
        request,
        "directory/user_detail.html",
        {
            "user_obj": user,
            "account": account,
            "path": " / ".join(organization_path_names(me, user.organization)),
            "users_url": _url(request, "users"),
            "timezone_label": f"{timezone_label(account.timezone)} ({account.timezone})"
            if account
            else "",
            "sections": user_sections(me, user),
            "tab": "users",
        },
    )


@require_POST
@account_required
def user_delete(request: HttpRequest, user_id: int) -> HttpResponse:
    user = user_get(_me(request), user_id, "delete")
    try:
        services.user_delete(actor=Actor.from_request(request), user=user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return HttpResponseRedirect(_url(request, "user_detail", user_id=user_id))
    messages.success(request, _("%(name)s has been deleted.") % {"name": user.name})
    return HttpResponseRedirect(_url(request, "users"))


# Organizations ------------------------------------------------------------------------------


# What each organization action takes: adding is on the parent.
ORGANIZATION_PERMISSIONS = {
    "add": "organizations.add",
    "rename": "organizations.change",
    "move": "organizations.change",
    "delete": "organizations.delete",
    "up": "organizations.change",
    "down": "organizations.change",
}


def _org_action(request: HttpRequest, organization_id: int, action: str) -> HttpResponse:
    me = _me(request)
    permission = ORGANIZATION_PERMISSIONS[action]
    organization = organization_get(me, organization_id, permission)
    actor = Actor.from_request(request)
    target = organization.pk
    try:
        if action == "add":
            form = OrganizationNameForm(request.POST)
            if not form.is_valid():
                raise ValidationError(list(form.errors["name"]))
            child = services.organization_create(
                actor=actor, parent=organization, name=form.cleaned_data["name"]
            )
            target = child.pk
            messages.success(request, _("“%(name)s” has been added.") % {"name": child.name})
        elif action == "rename":
            form = OrganizationNameForm(request.POST)
            if not form.is_valid():
                raise ValidationError(list(form.errors["name"]))
            services.organization_rename(
                actor=actor, organization=organization, name=form.cleaned_data["name"]
            )
            messages.success(request, _("The organization has been renamed."))
        elif action == "move":
            tree = organization_tree(me, permission)
            move = OrganizationMoveForm(request.POST, organizations=tree)
            if not move.is_valid():  # no choice, or not one of the tree's organizations
                raise ValidationError(_("Choose the new parent organization."))
            parent = organization_get(me, move.cleaned_data["parent"], permission)
            services.organization_move(actor=actor, organization=organization, parent=parent)
            messages.success(request, _("“%(name)s” has been moved.") % {"name": organization.name})
        elif action in ("up", "down"):
            services.organization_reorder(
                actor=actor, organization=organization, step=-1 if action == "up" else 1
            )
        elif action == "delete":
            parent_id = organization.parent_id
            services.organization_delete(actor=actor, organization=organization)
            target = parent_id or 0
            messages.success(
                request, _("“%(name)s” has been deleted.") % {"name": organization.name}
            )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return HttpResponseRedirect(f"{_url(request, 'users')}?org={target}")


@require_POST
@account_required
def organization_add(request: HttpRequest, organization_id: int) -> HttpResponse:
    return _org_action(request, organization_id, "add")


@require_POST
@account_required
def organization_rename(request: HttpRequest, organization_id: int) -> HttpResponse:
    return _org_action(request, organization_id, "rename")


@account_required
def organization_move(request: HttpRequest, organization_id: int) -> HttpResponse:
    """Choose the new parent (GET), then move (POST): everything below moves along."""
    if request.method == "POST":
        return _org_action(request, organization_id, "move")
    me = _me(request)
    organization = organization_get(me, organization_id, "change")
    parents = [
        n for n in organization_tree(me, "change") if not n.path.startswith(organization.path)
    ]
    form = OrganizationMoveForm(organizations=parents, initial={"parent": organization.parent_id})
    return render(
        request,
        "directory/organization_move.html",
        {
            "organization": organization,
            "form": form,
            "back_url": f"{_url(request, 'users')}?org={organization.pk}",
            "tab": "users",
        },
    )


@require_POST
@account_required
def organization_delete(request: HttpRequest, organization_id: int) -> HttpResponse:
    return _org_action(request, organization_id, "delete")


@require_POST
@account_required
def organization_up(request: HttpRequest, organization_id: int) -> HttpResponse:
    return _org_action(request, organization_id, "up")


@require_POST
@account_required
def organization_down(request: HttpRequest, organization_id: int) -> HttpResponse:
    return _org_action(request, organization_id, "down")
