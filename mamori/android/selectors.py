"""Reads of Android Enterprise, always within the reader's contract (and, for enrollment
tokens, its organizations), taking the action (``core.access``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from mamori.android.models import (
    EnrollmentToken,
    Enterprise,
    OrganizationProfile,
    Profile,
    ProfileVersion,
)
from mamori.android.permissions import ENTERPRISE_MANAGE, PROFILES_VIEW
from mamori.core.access import (
    NotFound,
    Principal,
    has_permission,
    object_get,
    permission_code,
    permission_require,
    restrict,
)
from mamori.directory.models import Organization
from mamori.directory.notes import OrgNote
from mamori.directory.selectors import OrgNode, organization_tree


def enterprise_of_contract(contract_id: int) -> Enterprise | None:
    """The contract's enterprise, or None while it is not bound (for services and handlers)."""
    return Enterprise.objects.filter(contract_id=contract_id).select_related("bound_by").first()


def enterprise_get(account: Principal) -> Enterprise | None:
    """The binding as Settings → Android Enterprise shows it: ``PermissionDenied`` without
    ``android.manage`` (System administrators only)."""
    permission_require(account, ENTERPRISE_MANAGE)
    return (
        Enterprise.objects.filter(contract_id=account.contract_id)
        .select_related("bound_by__user")
        .first()
    )


def enterprise_bound(account: Principal) -> bool:
    """Whether the account's contract is bound (every account may know it: pages say so)."""
    return Enterprise.objects.filter(contract_id=account.contract_id).exists()


# Profiles -----------------------------------------------------------------------------------


def profiles_visible_to(account: Principal, action: str = "view") -> QuerySet[Profile]:
    """The contract's profiles (contract-wide: every organization may be assigned one)."""
    rows = restrict(
        Profile.objects.all(), account, permission_code("profiles", action), path_field=None
    )
    return rows.select_related("current").order_by("-is_initial", "name", "id")


def profile_get(account: Principal, pk: int | str, action: str = "view") -> Profile:
    """One profile: ``NotFound`` outside the contract, ``PermissionDenied`` without the action."""
    return object_get(
        Profile.objects.select_related("current"),
        account,
        pk,
        permission_code("profiles", action),
        path_field=None,
    )


def profile_versions(account: Principal, profile: Profile) -> QuerySet[ProfileVersion]:
    """The profile's versions, newest first, with who saved each."""
    permission_require(account, PROFILES_VIEW)
    return (
        ProfileVersion.objects.filter(profile=profile, profile__contract_id=account.contract_id)
        .select_related("created_by__user")
        .order_by("-number")
    )


def profile_version_get(account: Principal, profile: Profile, number: int) -> ProfileVersion:
    """One version of ``profile`` by its number (``NotFound`` if it has none such)."""
    permission_require(account, PROFILES_VIEW)
    version = (
        ProfileVersion.objects.filter(
            profile=profile, number=number, profile__contract_id=account.contract_id
        )
        .select_related("created_by__user")
        .first()
    )
    if version is None:
        raise NotFound
    return version


def profile_assignment_counts(account: Principal) -> dict[int, int]:
    """``{profile id: organizations it is assigned to}`` in the contract."""
    counts: dict[int, int] = {}
    for profile_id in OrganizationProfile.objects.filter(
        contract_id=account.contract_id
    ).values_list("profile_id", flat=True):
        counts[profile_id] = counts.get(profile_id, 0) + 1
    return counts


@dataclasses.dataclass(frozen=True)
class AssignedNode:
    """An organization of the tree with the profile its devices get: its own, or the one of
    its nearest ancestor that has one (``inherited_from`` names that ancestor)."""

    node: OrgNode
    profile_id: int | None
    profile_name: str
    own: bool
    inherited_from: str = ""


# Read on every Users/Org page (the tree's notes): written once, not compiled by the ORM each
# time (that was 1.8 ms of a 12 ms page). The same as
# OrganizationProfile.objects.filter(contract_id=…).values_list("organization_id",
# "organization__name", "profile_id", "profile__name").
_ASSIGNMENTS_SQL = (
    "SELECT a.organization_id, o.name, a.profile_id, p.name"
    " FROM android_organizationprofile a"
    " JOIN directory_organization o ON o.id = a.organization_id"
    " JOIN android_profile p ON p.id = a.profile_id"
    " WHERE a.contract_id = %s"
)


def profiles_resolved(contract_id: int, nodes: Iterable[OrgNode]) -> list[AssignedNode]:
    """Each of ``nodes`` with its profile, own or inherited: one query whatever their number
    (ancestors above the nodes count too: an inherited profile may come from there)."""
    with connection.cursor() as cursor:
        cursor.execute(_ASSIGNMENTS_SQL, [contract_id])
        own = {row[0]: row[1:] for row in cursor.fetchall()}
    result = []
    for node in nodes:
        chain = [int(p) for p in node.path.strip("/").split("/")]
        holder = next((pk for pk in reversed(chain) if pk in own), None)
        if holder is None:
            result.append(AssignedNode(node=node, profile_id=None, profile_name="", own=False))
            continue
        holder_name, profile_id, profile_name = own[holder]
        mine = holder == node.id
        result.append(
            AssignedNode(
                node=node,
                profile_id=profile_id,
                profile_name=profile_name,
                own=mine,
                inherited_from="" if mine else holder_name,
            )
        )
    return result


def profile_tree(account: Principal, action: str = "view") -> list[AssignedNode]:
    """The organization tree (``organizations.<action>`` scope) with each organization's
    profile, own or inherited. Two queries whatever the size."""
    permission_require(account, PROFILES_VIEW)
    return profiles_resolved(account.contract_id, organization_tree(account, action))


def profile_notes(account: Principal, nodes: Sequence[OrgNode]) -> dict[int, OrgNote]:
    """The Users/Org tree's note of each organization: its profile, own or inherited (the
    ``directory.notes`` provider Android registers). Nothing without ``profiles.view``."""
    if not has_permission(account, PROFILES_VIEW):
        return {}
    notes = {}
    for row in profiles_resolved(account.contract_id, nodes):
        if row.profile_id is None:
            continue
        if row.own:
            notes[row.node.id] = OrgNote(
                text=row.profile_name,
                title=_("Profile: %(name)s") % {"name": row.profile_name},
                label=_("Profile:"),
            )
        else:
            inherited = _("Profile: %(name)s, inherited from %(organization)s") % {
                "name": row.profile_name,
                "organization": row.inherited_from,
            }
            notes[row.node.id] = OrgNote(
                text=row.profile_name, title=inherited, label=_("Inherited profile:"), muted=True
            )
    return notes


def profile_for_organization(organization: Organization) -> Profile | None:
    """The profile a device of ``organization`` gets: its own, or its nearest ancestor's."""
    chain = [int(p) for p in organization.path.strip("/").split("/")]
    own = dict(
        OrganizationProfile.objects.filter(organization_id__in=chain).values_list(
            "organization_id", "profile_id"
        )
    )
    holder = next((pk for pk in reversed(chain) if pk in own), None)
    return Profile.objects.filter(pk=own[holder]).first() if holder is not None else None


# Enrollment tokens --------------------------------------------------------------------------


def _valid(now: object = None) -> Q:
    now = now or timezone.now()
    return (
        Q(revoked_at__isnull=True)
        & Q(used_at__isnull=True)
        & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    )


def tokens_visible_to(account: Principal, action: str = "view") -> QuerySet[EnrollmentToken]:
    """The valid (not revoked, not expired) tokens of the account's organizations, newest
    first; ``PermissionDenied`` without ``enrollment_tokens.<action>``."""
    rows = restrict(
        EnrollmentToken.objects.all(),
        account,
        permission_code("enrollment_tokens", action),
        path_field="organization__path",
    )
    return (
        rows.filter(_valid())
        .select_related("organization", "user", "created_by__user")
        .order_by("-created_at", "-id")
    )


def token_get(account: Principal, pk: int | str, action: str = "view") -> EnrollmentToken:
    """One token of the account's organizations (revoked and expired ones too: their page
    says so): ``NotFound`` outside them, ``PermissionDenied`` without the action."""
    return object_get(
        EnrollmentToken.objects.select_related("organization", "user", "created_by__user"),
        account,
        pk,
        permission_code("enrollment_tokens", action),
        path_field="organization__path",
    )


def token_valid(token: EnrollmentToken) -> bool:
    now = timezone.now()
    return (
        token.revoked_at is None
        and token.used_at is None
        and (token.expires_at is None or token.expires_at > now)
    )
