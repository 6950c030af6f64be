"""Writes of Android Enterprise: the binding, profiles, their assignment and enrollment tokens.

Each is one function ``<noun>_<verb>(*, actor, …)`` (CONTRIBUTING): it authorizes, validates,
owns its transaction and writes one operation-log entry last in it. AMAPI calls a person waits
for (the signup URL, the enterprise at the callback, an enrollment token, its deletion, the
unbinding patch) are made inline, outside any transaction; publishing a policy is durable work
(``mamori.android.work``).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import secrets
from typing import Any
from urllib.parse import quote, urlsplit

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from mamori.android import amapi
from mamori.android import policy as policies
from mamori.android.audit_actions import AndroidAction
from mamori.android.device_policy import devices_policy_sync
from mamori.android.models import (
    PERSONAL_USAGE_OF_KIND,
    Device,
    DeviceKind,
    DeviceState,
    EnrollmentToken,
    Enterprise,
    OrganizationProfile,
    PersonalUsage,
    Profile,
    ProfileVersion,
    PublishState,
    SignupAttempt,
)
from mamori.android.permissions import (
    ENTERPRISE_MANAGE,
    PROFILES_ASSIGN,
    PROFILES_CHANGE,
    PROFILES_PUBLISH,
    TOKENS_CREATE,
    TOKENS_REVOKE,
)
from mamori.android.selectors import profile_for_organization
from mamori.audit.services import LogRecord, Target, TargetType, log_record
from mamori.contracts.models import Contract
from mamori.core.access import authorize
from mamori.core.actor import Actor
from mamori.core.fields import length_errors
from mamori.core.links import absolute_url
from mamori.core.text import control_character, line_break
from mamori.core.work import work_submit, work_submit_many
from mamori.directory.models import Organization, User

PUBLISH = "android.policy_publish"
RELEASE = "android.enterprise_release"
POLICY_DELETE = "android.policy_delete"
TOKEN_DELETE = "android.enrollment_token_delete"  # noqa: S105 (a work kind)
DEVICE_DELETE = "android.device_delete"  # devices.delete of a device Mamori forgets

# The signed state of a signup (Django's TimestampSigner with a salt of its own).
SIGNUP_SALT = "mamori.android.signup"
SIGNUP_MAX_AGE = datetime.timedelta(minutes=30)

# Enrollment token lifetimes (ANDROID.md 2.4 allows 1 minute … about 10,000 years; Mamori
# offers 1 hour … 90 days, 7 days by default, and "no expiry" for reusable tokens only).
TOKEN_DURATION_MIN = 3600
TOKEN_DURATION_MAX = 90 * 86400
TOKEN_DURATION_DEFAULT = 7 * 86400


def _target(profile: Profile) -> Target:
    return Target(TargetType.POLICY, profile.pk, profile.name)


def _enterprise_target(enterprise: Enterprise) -> Target:
    return Target(TargetType.ENTERPRISE, enterprise.pk, enterprise.display_name or enterprise.name)


def _account_id(actor: Actor) -> Any:
    return actor.account.pk if actor.account is not None else None


def _google_said(error: amapi.AmapiError) -> str:
    return _("Google answered: %(message)s") % {"message": error.message or error.code}


# The binding --------------------------------------------------------------------------------


class SignupRefused(Exception):
    """A signup callback that changes nothing; ``message`` says why, in the person's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def session_hash(session_key: str) -> str:
    """What a signup state keeps of the session: its key's SHA-256 (never the key itself)."""
    return hashlib.sha256(f"mamori-signup:{session_key}".encode()).hexdigest()


def _session_bound(session_key: str) -> str:
    # A signup started through the API has no session: it is bound to the account alone and
    # finished in any panel session of that account.
    return session_hash(session_key) if session_key else ""


def _callback_acceptable(url: str, *, given: bool) -> bool:
    """A callback an API client gives must be https (http only on loopback, for development):
    Google sends the enterprise token there. Mamori's own callback follows MAMORI_BASE_URL."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    return not given or parts.hostname in ("localhost", "127.0.0.1", "::1")


def enterprise_signup_start(
    *, actor: Actor, contract: Contract, session_key: str, callback_url: str = ""
) -> str:
    """Ask AMAPI for a signup URL (``signupUrls.create``) whose callback carries a signed state
    bound to the contract, the account and its session; return the URL to send the browser to.

    Raises ``ValidationError`` when the contract is already bound or Google refuses.
    """
    authorize(actor, ENTERPRISE_MANAGE)
    if Enterprise.objects.filter(contract=contract).exists():
        raise ValidationError(_("This contract is already bound to an Android Enterprise."))
    nonce = secrets.token_urlsafe(24)
    state = signing.TimestampSigner(salt=SIGNUP_SALT).sign_object(
        {"c": contract.pk, "a": _account_id(actor), "s": _session_bound(session_key), "n": nonce}
    )
    callback = callback_url or absolute_url("panel:android_callback", domain=contract.domain)
    if control_character(callback) or not _callback_acceptable(callback, given=bool(callback_url)):
        raise ValidationError(
            {"callback_url": [_("Enter an absolute https:// URL (http:// only on this machine).")]}
        )
    try:
        signup = amapi.signup_url_create(
            callback_url=f"{callback}{'&' if '?' in callback else '?'}state={quote(state)}",
            contract_id=contract.pk,
        )
    except amapi.AmapiError as exc:
        raise ValidationError(_google_said(exc)) from exc
    with transaction.atomic():
        SignupAttempt.objects.create(
            contract=contract,
            account_id=_account_id(actor),
            nonce=nonce,
            session_hash=_session_bound(session_key),
            signup_url_name=signup.get("name", ""),
        )
        log_record(contract=contract, actor=actor, action=AndroidAction.SIGNUP_STARTED)
    return str(signup["url"])


def _state_read(state: str, *, actor: Actor, contract: Contract, session_key: str) -> str:
    """The nonce of a good state; ``SignupRefused`` saying what is wrong with any other."""
    try:
        data = signing.TimestampSigner(salt=SIGNUP_SALT).unsign_object(
            state, max_age=SIGNUP_MAX_AGE
        )
    except signing.SignatureExpired:
        raise SignupRefused(
            _("This signup link has expired (after 30 minutes). Start the signup again.")
        ) from None
    except (signing.BadSignature, ValueError, TypeError):
        raise SignupRefused(
            _("This signup link is not valid: it was not made by Mamori for this signup.")
        ) from None
    if not isinstance(data, dict) or data.get("c") != contract.pk:
        raise SignupRefused(_("This signup was started for another contract."))
    if data.get("a") != _account_id(actor):
        raise SignupRefused(_("This signup was started by another account."))
    if data.get("s") and data.get("s") != session_hash(session_key):
        raise SignupRefused(
            _("This signup was started in another browser session. Start it again here.")
        )
    return str(data.get("n", ""))


def enterprise_signup_complete(
    *, actor: Actor, contract: Contract, state: str, enterprise_token: str, session_key: str
) -> Enterprise:
    """Finish a signup at its callback: check the state (signed, at most 30 minutes old, for
    this contract, account and session, not used before), create the enterprise
    (``enterprises.create`` with the deployment's topic and notification types), make the
    initial settings profile, assign it to the top organization and queue its publication.

    A bad, reused, expired or foreign state raises ``SignupRefused`` and changes nothing.
    """
    authorize(actor, ENTERPRISE_MANAGE)
    nonce = _state_read(state, actor=actor, contract=contract, session_key=session_key)
    if not enterprise_token or len(enterprise_token) > 2000:
        raise SignupRefused(_("Google's answer carries no enterprise token. Start again."))
    with transaction.atomic():
        attempt = (
            SignupAttempt.objects.select_for_update().filter(contract=contract, nonce=nonce).first()
        )
        if attempt is None:
            raise SignupRefused(_("This signup link is not valid. Start the signup again."))
        if attempt.used_at is not None:
            raise SignupRefused(
                _("This signup link was already used. Start the signup again if needed.")
            )
        if Enterprise.objects.filter(contract=contract).exists():
            raise SignupRefused(_("This contract is already bound to an Android Enterprise."))
        attempt.used_at = timezone.now()
        attempt.save(update_fields=["used_at"])
    try:
        created = amapi.enterprise_create(
            signup_url_name=attempt.signup_url_name,
            enterprise_token=enterprise_token,
            display_name=contract.company_name[:100],
            contract_id=contract.pk,
        )
    except amapi.AmapiError as exc:
        raise SignupRefused(_google_said(exc)) from exc
    try:
        return _enterprise_bind(actor, contract, created)
    except IntegrityError:
        raise SignupRefused(_("This contract is already bound to an Android Enterprise.")) from None


def _enterprise_bind(actor: Actor, contract: Contract, created: dict[str, Any]) -> Enterprise:
    with transaction.atomic():
        enterprise = Enterprise.objects.create(
            contract=contract,
            name=created["name"],
            display_name=str(created.get("enterpriseDisplayName", ""))[:100],
            bound_by_id=_account_id(actor),
        )
        initial = Profile.objects.filter(contract=contract, is_initial=True).first()
        if initial is None:
            initial = _profile_new(
                actor,
                contract,
                _("Initial settings profile"),
                policies.initial_policy(),
                note="",
                is_initial=True,
            )
        root = Organization.objects.get(contract=contract, parent=None)
        OrganizationProfile.objects.get_or_create(
            organization=root, defaults={"contract": contract, "profile": initial}
        )
        # Every profile is published to the new enterprise (a contract bound again keeps its
        # profiles; their policies live in the enterprise).
        for profile in Profile.objects.filter(contract=contract):
            _publish_queue(actor, profile)
        log_record(
            contract=contract,
            actor=actor,
            action=AndroidAction.BOUND,
            target=_enterprise_target(enterprise),
            after={"enterprise": enterprise.name, "display_name": enterprise.display_name},
        )
    return enterprise


@dataclasses.dataclass(frozen=True)
class Unbound:
    """What unbinding found at Google: ``gone`` (the enterprise no longer exists there),
    ``queued`` (Google could not be reached: the patch is retried by the worker), and Google's
    refusal, if any; how many enrollment tokens and devices are being deleted there."""

    gone: bool = False
    queued: bool = False
    refused: str = ""
    tokens: int = 0
    devices: int = 0


NOTIFICATIONS_OFF = {"pubsubTopic": "", "enabledNotificationTypes": []}
NOTIFICATIONS_MASK = "pubsubTopic,enabledNotificationTypes"


def enterprise_unbind(
    *, actor: Actor, contract: Contract, confirm_domain: str, delete_devices: bool = False
) -> Unbound:
    """Forget the contract's enterprise: turn its notifications off at Google
    (``enterprises.patch`` clearing ``pubsubTopic`` and ``enabledNotificationTypes``: inline, so
    the page can say when Google answers that the enterprise is gone; queued when Google cannot
    be reached, so that unbinding never waits on Google), then drop the binding, its
    enrollment tokens and the profiles' published state. ``delete_devices`` deletes the
    devices Mamori knows first (none until the device inventory exists). AMAPI cannot delete a
    customer-managed enterprise: the person removes it on Google's side.

    ``confirm_domain`` must be the usage domain (``ValidationError`` otherwise).
    """
    authorize(actor, ENTERPRISE_MANAGE)
    enterprise = Enterprise.objects.filter(contract=contract).first()
    if enterprise is None:
        raise ValidationError(_("This contract is not bound to an Android Enterprise."))
    if confirm_domain.strip().lower() != contract.domain:
        raise ValidationError(
            {
                "confirm": [
                    _("Type the usage domain “%(domain)s” to confirm.")
                    % {"domain": contract.domain}
                ]
            }
        )
    result = Unbound()
    try:
        amapi.enterprise_patch(
            enterprise.name,
            NOTIFICATIONS_OFF,
            update_mask=NOTIFICATIONS_MASK,
            contract_id=contract.pk,
        )
    except amapi.AmapiNotFound:
        result = Unbound(gone=True)
    except amapi.AmapiUnavailable:
        result = Unbound(queued=True)
    except amapi.AmapiError as exc:
        result = Unbound(refused=exc.message or exc.code)
    with transaction.atomic():
        if result.queued:
            work_submit(
                kind=RELEASE,
                payload={"enterprise": enterprise.name},
                actor=actor,
                contract_id=contract.pk,
            )
        Profile.objects.filter(contract=contract).update(
            publish_state=PublishState.UNPUBLISHED,
            published_number=None,
            published_version="",
            published_at=None,
            publish_error="",
            publish_violations=[],
        )
        SignupAttempt.objects.filter(contract=contract).delete()
        # Google has no enterprise left when it answered "gone": its tokens and devices went with it.
        tokens, devices = (
            (0, 0)
            if result.gone
            else _unbind_google_side(actor, enterprise, delete_devices=delete_devices)
        )
        result = dataclasses.replace(result, tokens=tokens, devices=devices)
        enterprise.delete()  # its enrollment tokens and devices with it
        answer = "gone" if result.gone else "queued" if result.queued else result.refused or "ok"
        log_record(
            contract=contract,
            actor=actor,
            action=AndroidAction.UNBOUND,
            target=_enterprise_target(enterprise),
            before={"enterprise": enterprise.name, "display_name": enterprise.display_name},
            after={"google_answer": answer, "tokens_deleted": tokens, "devices_deleted": devices},
        )
    return result


def _unbind_google_side(
    actor: Actor, enterprise: Enterprise, *, delete_devices: bool
) -> tuple[int, int]:
    """Durable work deleting at Google the enterprise's valid enrollment tokens (a token left
    there would still enroll devices into an enterprise Mamori no longer reads) and, when
    asked, its devices (``devices.delete``: a wipe attempt). Returns the two counts."""
    now = timezone.now()
    tokens = list(
        EnrollmentToken.objects.filter(enterprise=enterprise, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values_list("name", flat=True)
    )
    if tokens:
        work_submit_many(
            kind=TOKEN_DELETE,
            payloads=[{"name": name} for name in tokens],
            actor=actor,
            contract_id=enterprise.contract_id,
        )
    devices: list[str] = []
    if delete_devices:
        devices = list(
            Device.objects.filter(enterprise=enterprise)
            .exclude(applied_state=DeviceState.DELETED)
            .order_by("pk")
            .values_list("name", flat=True)
        )
        if devices:
            work_submit_many(
                kind=DEVICE_DELETE,
                payloads=[{"name": name} for name in devices],
                actor=actor,
                contract_id=enterprise.contract_id,
            )
    return len(tokens), len(devices)


# Profiles -----------------------------------------------------------------------------------


class PolicyInvalid(ValidationError):
    """A policy that fails the Policy schema: ``errors`` are ``(field path, message)``."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__({"policy": [f"{field}: {message}" for field, message in errors]})


def policy_check(policy: Any) -> dict[str, Any]:
    """The policy if it is a JSON object that the Policy schema accepts; ``PolicyInvalid``."""
    if not isinstance(policy, dict):
        raise PolicyInvalid([("", _("A policy is a JSON object."))])
    errors = policies.policy_errors(policy)
    if errors:
        raise PolicyInvalid([(e.field, e.message) for e in errors])
    return policy


def require_contract_wide(actor: Actor) -> None:
    """``PermissionDenied`` unless the actor manages the whole contract. Profiles apply to every organization they are assigned to: only an account that manages
    the whole contract may change them (others may assign them within their organizations)."""
    if actor.account is not None and actor.account.scope_paths is not None:
        raise PermissionDenied(
            _(
                "A profile can apply to any organization: only an account that manages the whole contract can change it."
            )
        )


def profile_name_check(contract: Contract, name: str, *, exclude: int | None = None) -> str:
    """A profile's name, stripped; ``ValidationError`` on ``name`` if empty, too long, with
    control characters, or taken in the contract."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": [_("Enter the profile name.")]})
    errors = length_errors(Profile, {"name": name})
    if errors:
        raise ValidationError(errors)
    if control_character(name) or line_break(name):
        raise ValidationError(
            {"name": [_("Control characters (such as NUL or a tab) are not allowed.")]}
        )
    if Profile.objects.filter(contract=contract, name=name).exclude(pk=exclude or 0).exists():
        raise ValidationError(
            {"name": [_("A profile named “%(name)s” already exists.") % {"name": name}]}
        )
    return name


def _note_check(note: str) -> str:
    note = note.strip()
    errors = length_errors(ProfileVersion, {"note": note})
    if errors:
        raise ValidationError(errors)
    if control_character(note) or line_break(note):
        raise ValidationError(
            {"note": [_("Control characters (such as NUL or a tab) are not allowed.")]}
        )
    return note


def _name_taken(name: str) -> ValidationError:
    return ValidationError(
        {"name": [_("A profile named “%(name)s” already exists.") % {"name": name}]}
    )


def _profile_new(
    actor: Actor,
    contract: Contract,
    name: str,
    policy: dict[str, Any],
    *,
    note: str,
    is_initial: bool = False,
) -> Profile:
    profile = Profile.objects.create(contract=contract, name=name, is_initial=is_initial)
    version = ProfileVersion.objects.create(
        profile=profile, number=1, policy=policy, note=note, created_by_id=_account_id(actor)
    )
    profile.current = version
    profile.save(update_fields=["current"])
    return profile


def profile_create(
    *, actor: Actor, contract: Contract, name: str, policy: Any, note: str = ""
) -> Profile:
    """A new profile with its first version (not published until asked)."""
    authorize(actor, PROFILES_CHANGE)
    require_contract_wide(actor)
    name = profile_name_check(contract, name)
    note = _note_check(note)
    policy = policy_check(policy)
    try:
        with transaction.atomic():
            profile = _profile_new(actor, contract, name, policy, note=note)
            log_record(
                contract=contract,
                actor=actor,
                action=AndroidAction.PROFILE_CREATED,
                target=_target(profile),
                after={"name": name, "version": 1, "note": note},
            )
    except IntegrityError:
        raise _name_taken(name) from None
    return profile


def _new_version(
    actor: Actor, profile: Profile, policy: dict[str, Any], note: str
) -> ProfileVersion:
    number = (profile.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = ProfileVersion.objects.create(
        profile=profile, number=number, policy=policy, note=note, created_by_id=_account_id(actor)
    )
    profile.current = version
    profile.save(update_fields=["current", "updated_at"])
    return version


def profile_save(
    *, actor: Actor, profile: Profile, policy: Any, note: str = "", name: str | None = None
) -> ProfileVersion:
    """Save ``policy`` as the profile's next version (nothing when it equals the current one),
    and rename the profile to ``name`` if given and different: one change, one log entry (a
    rename alone is ``profile_rename``'s). Publishing is a separate step (``profile_publish``)."""
    authorize(actor, PROFILES_CHANGE)
    require_contract_wide(actor)
    note = _note_check(note)
    policy = policy_check(policy)
    before_name = profile.name
    if name is not None:
        name = profile_name_check(profile.contract, name, exclude=profile.pk)
    renamed = name is not None and name != before_name
    current = profile.current
    if current is not None and current.policy == policy and not note:
        if renamed:
            profile_rename(actor=actor, profile=profile, name=str(name))
        return current
    try:
        with transaction.atomic():
            Profile.objects.select_for_update().filter(pk=profile.pk).first()
            if renamed:
                profile.name = str(name)
                profile.save(update_fields=["name", "updated_at"])
            version = _new_version(actor, profile, policy, note)
            log_record(
                contract=profile.contract,
                actor=actor,
                action=AndroidAction.PROFILE_SAVED,
                target=_target(profile),
                before={"version": current.number if current else None}
                | ({"name": before_name} if renamed else {}),
                after={"version": version.number, "note": note}
                | ({"name": name} if renamed else {}),
            )
    except IntegrityError:
        profile.name = before_name
        raise _name_taken(str(name)) from None
    return version


def profile_restore(*, actor: Actor, profile: Profile, number: int) -> ProfileVersion:
    """Make version ``number``'s policy the profile's next version ("restored from N")."""
    authorize(actor, PROFILES_CHANGE)
    require_contract_wide(actor)
    old = ProfileVersion.objects.filter(profile=profile, number=number).first()
    if old is None:
        raise ValidationError(_("This profile has no version %(number)d.") % {"number": number})
    before = profile.current.number if profile.current else None
    with transaction.atomic():
        Profile.objects.select_for_update().filter(pk=profile.pk).first()
        note = _("Restored from version %(number)d") % {"number": number}
        version = _new_version(actor, profile, old.policy, note[:200])
        log_record(
            contract=profile.contract,
            actor=actor,
            action=AndroidAction.PROFILE_RESTORED,
            target=_target(profile),
            before={"version": before},
            after={"version": version.number},
        )
    return version


def profile_rename(*, actor: Actor, profile: Profile, name: str) -> None:
    authorize(actor, PROFILES_CHANGE)
    require_contract_wide(actor)
    before = profile.name
    name = profile_name_check(profile.contract, name, exclude=profile.pk)
    if name == before:
        return
    try:
        with transaction.atomic():
            profile.name = name
            profile.save(update_fields=["name", "updated_at"])
            log_record(
                contract=profile.contract,
                actor=actor,
                action=AndroidAction.PROFILE_RENAMED,
                target=_target(profile),
                before={"name": before},
                after={"name": name},
            )
    except IntegrityError:
        profile.name = before
        raise _name_taken(name) from None


def profile_copy(*, actor: Actor, profile: Profile, name: str) -> Profile:
    """A new profile with the current policy of ``profile`` as its first version."""
    authorize(actor, PROFILES_CHANGE)
    require_contract_wide(actor)
    name = profile_name_check(profile.contract, name)
    policy = profile.current.policy if profile.current else {}
    try:
        with transaction.atomic():
            copy = _profile_new(
                actor,
                profile.contract,
                name,
                policy,
                note=(_("Copied from “%(name)s”") % {"name": profile.name})[:200],
            )
            log_record(
                contract=profile.contract,
                actor=actor,
                action=AndroidAction.PROFILE_COPIED,
                target=_target(copy),
                after={"name": name, "source": profile.name},
            )
    except IntegrityError:
        raise _name_taken(name) from None
    return copy


def profile_delete(*, actor: Actor, profile: Profile) -> None:
    """Delete a profile no organization is assigned; its AMAPI policy is deleted by the worker."""
    authorize(actor, PROFILES_CHANGE)
    require_contract_wide(actor)
    with transaction.atomic():
        if OrganizationProfile.objects.filter(profile=profile).exists():
            raise ValidationError(
                _("“%(name)s” is assigned to organizations: assign them another profile first.")
                % {"name": profile.name}
            )
        enterprise = Enterprise.objects.filter(contract_id=profile.contract_id).first()
        if enterprise is not None and profile.published_number is not None:
            work_submit(
                kind=POLICY_DELETE,
                payload={"name": profile.policy_name(enterprise)},
                actor=actor,
                contract_id=profile.contract_id,
            )
        Profile.objects.filter(pk=profile.pk).update(current=None)
        target = _target(profile)
        profile.delete()
        log_record(
            contract=profile.contract,
            actor=actor,
            action=AndroidAction.PROFILE_DELETED,
            target=target,
            before={"name": profile.name},
        )


def _publish_queue(actor: Actor, profile: Profile) -> None:
    Profile.objects.filter(pk=profile.pk).update(
        publish_state=PublishState.PENDING, publish_error="", publish_violations=[]
    )
    work_submit(
        kind=PUBLISH,
        payload={"profile_id": profile.pk},
        actor=actor,
        contract_id=profile.contract_id,
    )


def profile_publish(*, actor: Actor, profile: Profile) -> None:
    """Queue the publication of the profile's current version (``policies.patch``, the whole
    policy, by the worker); the profile shows pending until Google answers."""
    authorize(actor, PROFILES_PUBLISH)
    require_contract_wide(actor)
    if not Enterprise.objects.filter(contract_id=profile.contract_id).exists():
        raise ValidationError(
            _("Bind the contract to Android Enterprise first (Settings → Android Enterprise).")
        )
    with transaction.atomic():
        _publish_queue(actor, profile)
        profile.refresh_from_db()
        log_record(
            contract=profile.contract,
            actor=actor,
            action=AndroidAction.PROFILE_PUBLISHED,
            target=_target(profile),
            after={"version": profile.current.number if profile.current else None},
        )


def profile_assign(*, actor: Actor, organization: Organization, profile: Profile | None) -> None:
    """Give ``organization`` its own profile, or (``None``) let it inherit its parent's.
    The top organization always has one: every device needs a profile."""
    authorize(actor, PROFILES_ASSIGN, organization)
    if profile is not None and profile.contract_id != organization.contract_id:
        raise ValidationError({"profile_id": [_("Choose one of the contract's profiles.")]})
    current = (
        OrganizationProfile.objects.filter(organization=organization)
        .select_related("profile")
        .first()
    )
    if profile is None and organization.parent_id is None:
        raise ValidationError(
            {
                "profile_id": [
                    _("The top organization always has a profile: every device needs one.")
                ]
            }
        )
    if (current.profile_id if current else None) == (profile.pk if profile else None):
        return
    # A profile never published has no policy at Google: its devices (and the tokens made for
    # the organization) would name a policy Google does not have (ANDROID.md 2.3, 2.4). Applying
    # it publishes it; a profile published before keeps its published version (a newer draft
    # is published only when asked).
    publish = (
        profile is not None
        and profile.published_number is None
        and profile.publish_state != PublishState.PENDING
        and Enterprise.objects.filter(contract_id=organization.contract_id).exists()
    )
    with transaction.atomic():
        if profile is None:
            OrganizationProfile.objects.filter(organization=organization).delete()
        else:
            OrganizationProfile.objects.update_or_create(
                organization=organization,
                defaults={"contract_id": organization.contract_id, "profile": profile},
            )
            if publish:
                _publish_queue(actor, profile)
        # The devices of the subtree follow (those below an organization with its own profile
        # keep theirs: devices_policy_sync computes each device's profile again).
        devices_policy_sync(
            actor,
            organization.contract_id,
            Device.objects.filter(
                contract_id=organization.contract_id,
                organization__path__startswith=organization.path,
            ).values_list("pk", flat=True),
        )
        log_record(
            contract=organization.contract,
            actor=actor,
            action=AndroidAction.PROFILE_ASSIGNED,
            target=Target(TargetType.ORGANIZATION, organization.pk, organization.name),
            before={"profile": current.profile.name if current else None},
            after={"profile": profile.name if profile else None, "published": publish or None},
            organization_id=organization.pk,
        )


# Enrollment tokens --------------------------------------------------------------------------


def _token_values(token: EnrollmentToken, profile: Profile | None) -> dict[str, Any]:
    return {
        "value_tail": token.value_tail,
        "organization": token.organization.name,
        "user": token.user.name if token.user else None,
        "profile": profile.name if profile else None,
        "one_time": token.one_time,
        "allow_personal_usage": token.allow_personal_usage,
        "device_kind": token.kind or None,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "note": token.note,
    }


def _token_check(
    duration_seconds: int | None, one_time: bool, allow_personal_usage: str, note: str
) -> str:
    errors: dict[str, list[str]] = {}
    if duration_seconds is None:
        if one_time:
            errors["duration_seconds"] = [_("Only a reusable token can be without expiry.")]
    elif not TOKEN_DURATION_MIN <= duration_seconds <= TOKEN_DURATION_MAX:
        errors["duration_seconds"] = [_("A token lasts from 1 hour to 90 days.")]
    if allow_personal_usage not in PersonalUsage.values:
        errors["allow_personal_usage"] = [_("Choose the kind of device.")]
    note = note.strip()
    errors |= length_errors(EnrollmentToken, {"note": note})
    if control_character(note) or line_break(note):
        errors.setdefault("note", []).append(
            _("Control characters (such as NUL or a tab) are not allowed.")
        )
    if errors:
        raise ValidationError(errors)
    return note


def _expiry(answer: dict[str, Any], duration_seconds: int | None) -> datetime.datetime | None:
    if duration_seconds is None:
        return None
    parsed = parse_datetime(str(answer.get("expirationTimestamp", "")))
    return parsed or timezone.now() + datetime.timedelta(seconds=duration_seconds)


def enrollment_token_create(
    *,
    actor: Actor,
    organization: Organization,
    user: User | None = None,
    duration_seconds: int | None = TOKEN_DURATION_DEFAULT,
    one_time: bool = True,
    allow_personal_usage: str = PersonalUsage.DISALLOWED,
    kind: str = "",
    note: str = "",
) -> EnrollmentToken:
    """Make an enrollment token at AMAPI (inline: the person waits for its QR code) for a
    device of ``organization`` (and ``user``), with the profile the organization resolves to as
    its ``policyName`` and Mamori's opaque id in ``additionalData``; keep it in Mamori's table.

    ``duration_seconds``: 3,600 … 7,776,000, or None for no expiry (reusable tokens only).
    ``kind`` (a ``DeviceKind``, optional) decides ``allow_personal_usage`` when given.
    """
    authorize(actor, TOKENS_CREATE, organization)
    if kind:
        if kind not in DeviceKind.values:
            raise ValidationError({"device_kind": [_("Choose the kind of device.")]})
        allow_personal_usage = PERSONAL_USAGE_OF_KIND[DeviceKind(kind)]
    if user is not None and allow_personal_usage == PersonalUsage.DISALLOWED_USERLESS:
        raise ValidationError(
            {"user_id": [_("A dedicated device has no user: leave the user empty.")]}
        )
    if user is not None:
        authorize(actor, TOKENS_CREATE, user.organization)
        if user.contract_id != organization.contract_id:
            raise ValidationError({"user_id": [_("Choose a user of the contract.")]})
    note = _token_check(duration_seconds, one_time, allow_personal_usage, note)
    enterprise = Enterprise.objects.filter(contract_id=organization.contract_id).first()
    if enterprise is None:
        raise ValidationError(
            _("Bind the contract to Android Enterprise first (Settings → Android Enterprise).")
        )
    profile = profile_for_organization(organization)
    policy_name = profile.policy_name(enterprise) if profile else None
    public_id = secrets.token_urlsafe(16)
    try:
        answer = amapi.enrollment_token_create(
            enterprise.name,
            duration_seconds=duration_seconds,
            one_time=one_time,
            allow_personal_usage=allow_personal_usage,
            policy_name=policy_name,
            additional_data=json.dumps({"mamori": public_id}),
            contract_id=organization.contract_id,
        )
    except amapi.AmapiError as exc:
        raise ValidationError(_google_said(exc)) from exc
    with transaction.atomic():
        token = EnrollmentToken.objects.create(
            contract_id=organization.contract_id,
            enterprise=enterprise,
            public_id=public_id,
            name=answer["name"],
            value=answer["value"],
            qr_code=answer.get("qrCode", ""),
            policy_name=policy_name or "",
            organization=organization,
            user=user,
            allow_personal_usage=allow_personal_usage,
            kind=kind,
            one_time=one_time,
            expires_at=_expiry(answer, duration_seconds),
            note=note,
            created_by_id=_account_id(actor),
        )
        log_record(
            contract=organization.contract,
            actor=actor,
            action=AndroidAction.TOKEN_CREATED,
            target=Target(TargetType.ENROLLMENT_TOKEN, token.pk, f"…{token.value_tail}"),
            after=_token_values(token, profile),
            organization_id=organization.pk,
        )
    return token


def enrollment_token_revoke(*, actor: Actor, token: EnrollmentToken) -> None:
    """Revoke a token (``enrollmentTokens.delete``, inline); one Google no longer has (expired,
    used up) is revoked in Mamori all the same. ``ValidationError`` when Google cannot be
    reached: the token stays valid until it is revoked for real."""
    authorize(actor, TOKENS_REVOKE, token.organization)
    if token.revoked_at is not None:
        return
    try:
        amapi.enrollment_token_delete(token.name, contract_id=token.contract_id)
    except amapi.AmapiNotFound:
        pass
    except amapi.AmapiError as exc:
        raise ValidationError(
            _("The token could not be revoked: %(reason)s") % {"reason": _google_said(exc)}
        ) from exc
    with transaction.atomic():
        EnrollmentToken.objects.filter(pk=token.pk).update(
            revoked_at=timezone.now(), revoked_by_id=_account_id(actor)
        )
        token.refresh_from_db()
        log_record(
            contract=token.organization.contract,
            actor=actor,
            action=AndroidAction.TOKEN_REVOKED,
            target=Target(TargetType.ENROLLMENT_TOKEN, token.pk, f"…{token.value_tail}"),
            before={"value_tail": token.value_tail},
            organization_id=token.organization_id,
        )


def organization_tokens_delete(actor: Actor, organization: Organization) -> list[LogRecord]:
    """The ``directory.deletion`` hook: ``organization`` is being deleted, and its tokens with
    it; each still valid is deleted at Google by durable work (after commit) and logged as
    revoked by whoever deletes the organization."""
    tokens = list(
        EnrollmentToken.objects.filter(organization=organization, revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )
    )
    if not tokens:
        return []
    work_submit_many(
        kind=TOKEN_DELETE,
        payloads=[{"name": token.name} for token in tokens],
        actor=actor,
        contract_id=organization.contract_id,
    )
    return [
        LogRecord(
            contract=organization.contract,
            actor=actor,
            action=AndroidAction.TOKEN_REVOKED,
            target=Target(TargetType.ENROLLMENT_TOKEN, token.pk, f"…{token.value_tail}"),
            before={"value_tail": token.value_tail, "organization": organization.name},
            organization_id=organization.parent_id,
        )
        for token in tokens
    ]
