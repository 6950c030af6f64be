"""Android Enterprise pages: Settings → Android Enterprise (signup, binding, unbinding),
Devices → Profiles (list, edit, versions, publish, assignment) and Devices → Enrollment tokens
(new token, its printable page with the QR code, list, revoke)."""

from __future__ import annotations

import io
from typing import Any

import segno
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mamori.android import hooks, selectors, services
from mamori.android import policy as policies
from mamori.android.forms import (
    AssignForm,
    NoteForm,
    ProfileNameForm,
    TokenForm,
    UnbindForm,
)
from mamori.android.models import (
    DeviceKind,
    EnrollmentToken,
    Profile,
    PublishState,
)
from mamori.android.permissions import (
    PROFILES_VIEW,
    TOKENS_CREATE,
)
from mamori.core.access import Principal, permission_require
from mamori.core.actor import Actor
from mamori.core.decorators import account_required
from mamori.core.forms import add_service_errors
from mamori.directory.selectors import organization_get, organization_tree, user_named


def _me(request: HttpRequest) -> Principal:
    return request.user  # type: ignore[return-value]


def _url(request: HttpRequest, name: str, **kwargs: Any) -> str:
    return reverse(f"panel:{name}", kwargs={"domain": request.contract.domain, **kwargs})  # type: ignore[attr-defined]


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# Settings → Android Enterprise --------------------------------------------------------------


@account_required
def enterprise_settings(request: HttpRequest) -> HttpResponse:
    """The binding, or what Android Enterprise is and a button to sign up. POST starts the
    signup and sends the browser, top-level, to Google's signup page."""
    me = _me(request)
    enterprise = selectors.enterprise_get(me)
    if request.method == "POST" and enterprise is None:
        try:
            url = services.enterprise_signup_start(
                actor=Actor.from_request(request),
                contract=request.contract,  # type: ignore[attr-defined]
                session_key=_session_key(request),
            )
        except ValidationError as exc:
            _errors(request, exc)
            return HttpResponseRedirect(_url(request, "android_settings"))
        # A page that moves on by itself (and a link): the CSP's form-action 'self' would stop a
        # redirect of this POST to another origin.
        return render(request, "android/signup_redirect.html", {"url": url, "tab": "settings"})
    return render(
        request,
        "android/settings.html",
        {
            "enterprise": enterprise,
            "form": UnbindForm(),
            "configured": _configured(),
            "has_profiles": enterprise is None and selectors.profiles_visible_to(me).exists(),
            "notices": hooks.enterprise_notices_html(request) if enterprise else [],
            "tab": "settings",
        },
    )


def _configured() -> bool:
    from mamori.android import amapi

    return amapi.configured()


def _session_key(request: HttpRequest) -> str:
    if request.session.session_key is None:
        request.session.save()
    return str(request.session.session_key)


@require_safe
@account_required
def enterprise_callback(request: HttpRequest) -> HttpResponse:
    """Where Google's signup page sends the browser back, with ``state`` and
    ``enterpriseToken``: binds the contract, or says why not and changes nothing."""
    permission_require(_me(request), "android.manage")
    try:
        services.enterprise_signup_complete(
            actor=Actor.from_request(request),
            contract=request.contract,  # type: ignore[attr-defined]
            state=request.GET.get("state", ""),
            enterprise_token=request.GET.get("enterpriseToken", ""),
            session_key=_session_key(request),
        )
    except services.SignupRefused as exc:
        return render(
            request,
            "android/callback_refused.html",
            {"reason": exc.message, "tab": "settings"},
            status=400,
        )
    messages.success(
        request,
        _(
            "The contract is bound to Android Enterprise. The initial settings profile is being published."
        ),
    )
    return HttpResponseRedirect(_url(request, "android_settings"))


@require_POST
@account_required
def enterprise_unbind(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    enterprise = selectors.enterprise_get(me)
    form = UnbindForm(request.POST)
    if enterprise is None:
        return HttpResponseRedirect(_url(request, "android_settings"))
    if form.is_valid():
        try:
            result = services.enterprise_unbind(
                actor=Actor.from_request(request),
                contract=request.contract,  # type: ignore[attr-defined]
                confirm_domain=form.cleaned_data["confirm"],
                delete_devices=form.cleaned_data["delete_devices"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return render(
                request,
                "android/unbound.html",
                {"result": result, "enterprise": enterprise, "tab": "settings"},
            )
    return render(
        request,
        "android/settings.html",
        {"enterprise": enterprise, "form": form, "configured": True, "tab": "settings"},
    )


# Profiles -----------------------------------------------------------------------------------


def _devices_context(request: HttpRequest, section: str) -> dict[str, Any]:
    return {"tab": "devices", "section": section, "bound": selectors.enterprise_bound(_me(request))}


@require_safe
@account_required
def profiles(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    rows = list(selectors.profiles_visible_to(me))
    counts = selectors.profile_assignment_counts(me)
    return render(
        request,
        "android/profiles.html",
        {
            "profiles": [(p, counts.get(p.pk, 0)) for p in rows],
            "form": ProfileNameForm(),
            **_devices_context(request, "profiles"),
        },
    )


@require_POST
@account_required
def profile_add(request: HttpRequest) -> HttpResponse:
    """A new profile, starting from the safe defaults of the initial settings profile."""
    form = ProfileNameForm(request.POST)
    if form.is_valid():
        try:
            profile = services.profile_create(
                actor=Actor.from_request(request),
                contract=request.contract,  # type: ignore[attr-defined]
                name=form.cleaned_data["name"],
                policy=policies.initial_policy(),
            )
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("“%(name)s” has been created.") % {"name": profile.name})
            return HttpResponseRedirect(_url(request, "profile_edit", profile_id=profile.pk))
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, str(message))
    return HttpResponseRedirect(_url(request, "profiles"))


def _unpublished_changes(profile: Profile) -> bool:
    """Whether the current version sets something else than the version last published (a
    restored copy of the published version is no change)."""
    if profile.current is None or profile.published_number is None:
        return False
    if profile.published_number == profile.current.number:
        return False
    published = profile.versions.filter(number=profile.published_number).first()
    return published is None or published.policy != profile.current.policy


@require_safe
@account_required
def profile_detail(request: HttpRequest, profile_id: int) -> HttpResponse:
    me = _me(request)
    profile = selectors.profile_get(me, profile_id)
    versions = list(selectors.profile_versions(me, profile)[:50])
    violations = (
        policies.policy_errors_from_google(profile.publish_violations)
        if profile.publish_violations
        else []
    )
    context = {
        "profile": profile,
        "versions": versions,
        "violations": violations,
        "assigned": selectors.profile_assignment_counts(me).get(profile.pk, 0),
        # What the current version sets, one row a setting, as the comparison shows them.
        "settings": policies.policy_diff({}, profile.current.policy if profile.current else {}),
        "unpublished_changes": _unpublished_changes(profile),
        "states": PublishState,
        "rename_form": ProfileNameForm(initial={"name": profile.name}),
        "copy_form": ProfileNameForm(
            initial={"name": _("Copy of %(name)s") % {"name": profile.name}}
        ),
        **_devices_context(request, "profiles"),
    }
    if request.headers.get("HX-Request"):  # the publication part alone, polled while publishing
        return render(request, "android/profile_publish_state.html", context)
    return render(request, "android/profile_detail.html", context)


@account_required
def profile_edit(request: HttpRequest, profile_id: int) -> HttpResponse:
    """The profile's form (grouped settings, the policy module's ``ProfileForm``); saving makes
    a new version."""
    me = _me(request)
    profile = selectors.profile_get(
        me, profile_id, "change" if request.method == "POST" else "view"
    )
    # The form is for those who may save it (a scoped administrator reads the profile's page).
    services.require_contract_wide(Actor.from_request(request))
    policy = profile.current.policy if profile.current else {}
    data = request.POST if request.method == "POST" else None
    form = policies.ProfileForm(data, policy=policy)
    note = NoteForm(data)
    adding_app = data is not None and bool(data.get("add_app"))
    if data is not None and not adding_app and form.is_valid() and note.is_valid():
        try:
            services.profile_save(
                actor=Actor.from_request(request),
                profile=profile,
                policy=form.policy(),
                note=note.cleaned_data["note"],
            )
        except services.PolicyInvalid as exc:
            for field, message in exc.errors:
                form.add_error(None, f"{field}: {message}" if field else message)
        except ValidationError as exc:
            add_service_errors(note, exc)
        else:
            messages.success(request, _("“%(name)s” has been saved.") % {"name": profile.name})
            return HttpResponseRedirect(_url(request, "profile_detail", profile_id=profile.pk))
    return render(
        request,
        "android/profile_edit.html",
        {
            "profile": profile,
            "form": form,
            "note_form": note,
            **_devices_context(request, "profiles"),
        },
    )


def _profile_action(request: HttpRequest, profile_id: int, action: str) -> HttpResponse:
    me = _me(request)
    permission = {"publish": "publish"}.get(action, "change")
    profile = selectors.profile_get(me, profile_id, permission)
    actor = Actor.from_request(request)
    back = _url(request, "profile_detail", profile_id=profile.pk)
    try:
        if action == "publish":
            services.profile_publish(actor=actor, profile=profile)
            messages.success(request, _("Publishing “%(name)s”…") % {"name": profile.name})
        elif action in ("rename", "copy"):
            form = ProfileNameForm(request.POST)
            if not form.is_valid():
                raise ValidationError(list(form.errors["name"]))
            if action == "rename":
                services.profile_rename(
                    actor=actor, profile=profile, name=form.cleaned_data["name"]
                )
                messages.success(request, _("The profile has been renamed."))
            else:
                copy = services.profile_copy(
                    actor=actor, profile=profile, name=form.cleaned_data["name"]
                )
                messages.success(request, _("“%(name)s” has been created.") % {"name": copy.name})
                back = _url(request, "profile_detail", profile_id=copy.pk)
        elif action == "delete":
            services.profile_delete(actor=actor, profile=profile)
            messages.success(request, _("“%(name)s” has been deleted.") % {"name": profile.name})
            back = _url(request, "profiles")
    except ValidationError as exc:
        _errors(request, exc)
    return HttpResponseRedirect(back)


@require_POST
@account_required
def profile_publish(request: HttpRequest, profile_id: int) -> HttpResponse:
    return _profile_action(request, profile_id, "publish")


@require_POST
@account_required
def profile_rename(request: HttpRequest, profile_id: int) -> HttpResponse:
    return _profile_action(request, profile_id, "rename")


@require_POST
@account_required
def profile_copy(request: HttpRequest, profile_id: int) -> HttpResponse:
    return _profile_action(request, profile_id, "copy")


@require_POST
@account_required
def profile_delete(request: HttpRequest, profile_id: int) -> HttpResponse:
    return _profile_action(request, profile_id, "delete")


@require_safe
@account_required
def profile_version(request: HttpRequest, profile_id: int, number: int) -> HttpResponse:
    """One version compared with the one before: which settings changed, old and new values."""
    me = _me(request)
    profile = selectors.profile_get(me, profile_id)
    version = selectors.profile_version_get(me, profile, number)
    previous = selectors.profile_versions(me, profile).filter(number__lt=number).first()
    changes = policies.policy_diff(previous.policy if previous else {}, version.policy)
    return render(
        request,
        "android/profile_version.html",
        {
            "profile": profile,
            "version": version,
            "previous": previous,
            "changes": changes,
            **_devices_context(request, "profiles"),
        },
    )


@require_POST
@account_required
def profile_restore(request: HttpRequest, profile_id: int, number: int) -> HttpResponse:
    me = _me(request)
    profile = selectors.profile_get(me, profile_id, "change")
    selectors.profile_version_get(me, profile, number)
    try:
        version = services.profile_restore(
            actor=Actor.from_request(request), profile=profile, number=number
        )
        messages.success(
            request,
            _("Version %(old)d has been restored as version %(new)d. Publish it to apply it.")
            % {"old": number, "new": version.number},
        )
    except ValidationError as exc:
        _errors(request, exc)
    return HttpResponseRedirect(_url(request, "profile_detail", profile_id=profile.pk))


@require_safe
@account_required
def profile_assignments(request: HttpRequest) -> HttpResponse:
    """The organization tree with each organization's profile, its own or inherited."""
    me = _me(request)
    permission_require(me, PROFILES_VIEW)
    tree = selectors.profile_tree(me)
    choices = list(selectors.profiles_visible_to(me))
    return render(
        request,
        "android/assignments.html",
        {
            "rows": tree,
            "profiles": choices,
            "can_assign": "profiles.assign" in me.permissions,
            **_devices_context(request, "assignments"),
        },
    )


@require_POST
@account_required
def organization_profile(request: HttpRequest, organization_id: int) -> HttpResponse:
    """Assign a profile to an organization, or let it inherit (empty choice)."""
    me = _me(request)
    organization = organization_get(me, organization_id, "profiles.assign")
    form = AssignForm(request.POST, profiles=list(selectors.profiles_visible_to(me)))
    if form.is_valid():
        chosen = form.cleaned_data["profile"]
        profile = selectors.profile_get(me, chosen) if chosen is not None else None
        try:
            services.profile_assign(
                actor=Actor.from_request(request), organization=organization, profile=profile
            )
            messages.success(
                request,
                _("“%(name)s”'s profile has been saved.") % {"name": organization.name},
            )
        except ValidationError as exc:
            _errors(request, exc)
    else:
        messages.error(request, _("Choose a profile."))
    back = request.POST.get("next", "")
    if not back.startswith(f"/{request.contract.domain}/"):  # type: ignore[attr-defined]
        back = _url(request, "profile_assignments")
    return HttpResponseRedirect(back)


# Enrollment tokens --------------------------------------------------------------------------


@require_safe
@account_required
def tokens(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    rows = list(selectors.tokens_visible_to(me)[:200])
    return render(
        request,
        "android/tokens.html",
        {"tokens": rows, **_devices_context(request, "tokens")},
    )


@account_required
def token_add(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    permission_require(me, TOKENS_CREATE)
    tree = organization_tree(me, TOKENS_CREATE)
    data = request.POST if request.method == "POST" else None
    form = TokenForm(
        data, organizations=tree, initial={"organization": tree[0].id if tree else None}
    )
    if data is not None and form.is_valid():
        organization = organization_get(me, form.cleaned_data["organization"], TOKENS_CREATE)
        user = user_named(me, form.cleaned_data["user"])
        if form.cleaned_data["user"].strip() and user is None:
            form.add_error("user", _("No user with this employee code or e-mail address."))
        else:
            kind = DeviceKind(form.cleaned_data["device_kind"])
            try:
                token = services.enrollment_token_create(
                    actor=Actor.from_request(request),
                    organization=organization,
                    user=user,
                    duration_seconds=form.duration_seconds(),
                    one_time=form.cleaned_data["one_time"],
                    kind=kind,
                    note=form.cleaned_data["note"],
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    exc = ValidationError(
                        {
                            {"duration_seconds": "duration", "user_id": "user"}.get(k, k): v
                            for k, v in exc.message_dict.items()
                        }
                    )
                add_service_errors(form, exc)
            else:
                return HttpResponseRedirect(_url(request, "token_detail", token_id=token.pk))
    return render(
        request,
        "android/token_form.html",
        {"form": form, **_devices_context(request, "tokens")},
    )


def _qr(token: EnrollmentToken) -> segno.QRCode:
    # AMAPI's qrCode JSON string, as it is (ANDROID.md 6); error level M as Google's own.
    return segno.make(token.qr_code or token.value, error="m", micro=False, encoding="utf-8")


@require_safe
@account_required
def token_detail(request: HttpRequest, token_id: int) -> HttpResponse:
    """The printable page: QR code, value, expiry in the viewer's timezone, instructions."""
    token = selectors.token_get(_me(request), token_id)
    valid = selectors.token_valid(token)
    return render(
        request,
        "android/token_detail.html",
        {
            "token": token,
            "qr_svg": _qr(token).svg_inline(scale=4, border=2, omitsize=False) if valid else "",
            "valid": valid,
            **_devices_context(request, "tokens"),
        },
    )


@require_safe
@account_required
def token_qr_png(request: HttpRequest, token_id: int) -> HttpResponse:
    token = selectors.token_get(_me(request), token_id)
    if not selectors.token_valid(token):  # a dead token's QR code would only mislead
        raise Http404
    out = io.BytesIO()
    _qr(token).save(out, kind="png", scale=8, border=4)
    response = HttpResponse(out.getvalue(), content_type="image/png")
    response["Content-Disposition"] = f'attachment; filename="enrollment-{token.pk}.png"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@account_required
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = selectors.token_get(_me(request), token_id, "revoke")
    try:
        services.enrollment_token_revoke(actor=Actor.from_request(request), token=token)
        messages.success(request, _("The enrollment token has been revoked."))
    except ValidationError as exc:
        _errors(request, exc)
    return HttpResponseRedirect(_url(request, "tokens"))
