"""Reads of the device inventory, always within the reader's contract and organizations.

``devices_visible_to(account, action)`` and ``device_get(account, pk, action)`` are the only
ways to devices a person can reach (pages, the API, the CSV): another contract's device, or one
outside the account's organizations, is a 404; in scope without ``devices.<action>`` (or the full
code given, such as ``commands.lock``) a 403. Inventory reads never call AMAPI.

The list follows the Users page: filters in the URL, keyset pages over an index that starts with
the contract (never ``OFFSET``), counts capped at ``COUNT_LIMIT`` ("more than 1,000"), and every
per-row value computed here once, ready to print (PERFORMANCE.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import (
    Case,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mamori.android.models import (
    Command,
    CommandStatus,
    CommandType,
    Device,
    DeviceKind,
    DeviceState,
    Enterprise,
    Profile,
    SecurityPosture,
    UsageLogEvent,
)
from mamori.android.selectors import profiles_resolved
from mamori.audit.models import LogEntry
from mamori.core.access import Principal, object_get, permission_code, restrict
from mamori.core.keyset import EPOCH, Keyset, Position
from mamori.core.text import fold, nfkc
from mamori.directory.models import Organization, User, reading_key
from mamori.directory.selectors import OrgNode
from mamori.directory.services import employee_code_normalize, normalize_furigana

COUNT_LIMIT = 1000
SEARCH_MAX = 100
SILENT_HOURS_MAX = 24 * 365


def devices_visible_to(account: Principal, action: str = "view") -> QuerySet[Device]:
    """The contract's devices in the account's organizations (removed ones too: filter them);
    ``PermissionDenied`` without ``devices.<action>`` (or the full code ``action``)."""
    return restrict(
        Device.objects.all(),
        account,
        permission_code("devices", action),
        path_field="organization__path",
    )


def device_get(account: Principal, pk: int | str, action: str = "view") -> Device:
    """One device with its organization, user and token: ``NotFound`` outside the account's
    contract or organizations, ``PermissionDenied`` in scope without ``devices.<action>`` (or the
    full code ``action``, e.g. ``"commands.wipe"``)."""
    return object_get(
        Device.objects.select_related("organization", "user", "token", "enterprise"),
        account,
        pk,
        permission_code("devices", action),
        path_field="organization__path",
    )


def devices_selected(
    account: Principal, ids: Iterable[int], action: str = "view"
) -> QuerySet[Device]:
    """The chosen devices of a bulk selection that the account may act on; ids of other
    contracts or organizations are left out, as if they did not exist."""
    return devices_visible_to(account, action).filter(pk__in=list(ids)).order_by("id")


# The list's query ---------------------------------------------------------------------------

COMPLIANCE = ("yes", "no", "unknown")


@dataclasses.dataclass(frozen=True)
class DeviceQuery:
    """What the list (and the API, and the CSV) is narrowed to; every field from the URL.

    ``state`` empty shows every device but removed ones (``DELETED`` shows those);
    ``compliance`` is ``yes`` / ``no`` / ``unknown`` (not reported yet); ``silent_hours`` keeps
    devices with no status report for more than that many hours (or none ever).
    """

    search: str = ""
    organization: Organization | None = None
    include_sub_organizations: bool = True
    state: str = ""
    compliance: str = ""
    kind: str = ""
    model: str = ""
    android_version: str = ""
    silent_hours: int | None = None
    ids: tuple[int, ...] = ()
    sort: str = ""  # a key of DEVICE_SORTS, "-" for descending; "" newest first
    # The search's lookups, made once per query (the page, its count and the counts share it).
    found: dict[int, Q] = dataclasses.field(default_factory=dict, compare=False, repr=False)


def device_query_check(query: DeviceQuery) -> DeviceQuery:
    """``query`` with its values checked: a ``ValidationError`` naming each bad filter (the
    API answers it; the page drops what it cannot read)."""
    errors: dict[str, list[str]] = {}
    if query.state and query.state not in DeviceState.values:
        errors["state"] = [_("Choose one of the states.")]
    if query.compliance and query.compliance not in COMPLIANCE:
        errors["compliance"] = [_("Choose yes, no or unknown.")]
    if query.kind and query.kind not in DeviceKind.values:
        errors["kind"] = [_("Choose one of the device kinds.")]
    if query.sort and query.sort.removeprefix("-") not in DEVICE_SORTS:
        errors["sort"] = [_("This column cannot be sorted by.")]
    if query.silent_hours is not None and not 0 < query.silent_hours <= SILENT_HOURS_MAX:
        errors["silent_hours"] = [
            _("Enter a number of hours from 1 to %(max)d.") % {"max": SILENT_HOURS_MAX}
        ]
    for field in ("search", "model", "android_version"):
        value = getattr(query, field)
        if len(value) > SEARCH_MAX:
            errors[field] = [_("Enter at most %(max)d characters.") % {"max": SEARCH_MAX}]
        elif "\x00" in value:
            errors[field] = [_("Control characters (such as NUL or a tab) are not allowed.")]
    if errors:
        raise ValidationError(errors)
    return query


SEARCH_USERS_MAX = 1000


def _search(contract_id: int, text: str) -> Q:
    """A serial number (exact, as typed or in capitals), AMAPI's device id (the last part of its
    name, exact), or the user: a furigana prefix, a name containing the text, or an employee
    code (as the users search reads them).

    Each arm is a list of values on an index of its own (serial number, device name, user), so
    PostgreSQL ORs three index scans instead of scanning the contract's devices: the users are
    looked up first (at most ``SEARCH_USERS_MAX`` of them) and so is the enterprise's name."""
    text = nfkc(text).strip()
    users = Q(name_key__contains=fold(text)) | Q(
        employee_code__iexact=employee_code_normalize(text)
    )
    with contextlib.suppress(ValidationError):
        users |= Q(furigana_key__startswith=reading_key(normalize_furigana(text)))
    user_ids = list(
        User.objects.filter(contract_id=contract_id)
        .filter(users)
        .order_by()
        .values_list("pk", flat=True)[:SEARCH_USERS_MAX]
    )
    enterprises = Enterprise.objects.filter(contract_id=contract_id).values_list("name", flat=True)
    names = [f"{enterprise}/devices/{text}" for enterprise in enterprises]
    return Q(serial_number__in={text, text.upper()}) | Q(name__in=names) | Q(user_id__in=user_ids)


def devices_filtered(
    account: Principal, query: DeviceQuery, action: str = "view", *, state: bool = True
) -> QuerySet[Device]:
    """The visible devices that match ``query`` (unordered). ``state=False`` leaves the state
    and compliance filters out (the counts per state are of the rest of the query)."""
    devices = devices_visible_to(account, action)
    if query.organization is not None:
        if query.include_sub_organizations:
            devices = devices.filter(organization__path__startswith=query.organization.path)
        else:
            devices = devices.filter(organization=query.organization)
    if state:
        if query.state:
            devices = devices.filter(applied_state=query.state)
        else:
            devices = devices.exclude(applied_state=DeviceState.DELETED)
        if query.compliance:
            devices = devices.filter(
                policy_compliant={"yes": True, "no": False, "unknown": None}[query.compliance]
            )
    if query.kind:
        devices = devices.filter(kind=query.kind)
    # Exact (in any letter case): the filters are typed, not chosen from a DISTINCT of the
    # contract's devices (a scan of all of them on every view).
    if query.model:
        devices = devices.filter(model__iexact=query.model.strip())
    if query.android_version:
        devices = devices.filter(android_version=query.android_version.strip())
    if query.silent_hours is not None:
        since = timezone.now() - datetime.timedelta(hours=query.silent_hours)
        devices = devices.filter(
            Q(last_status_report_at__lt=since) | Q(last_status_report_at__isnull=True)
        )
    text = query.search.strip()
    if text:
        if account.contract_id not in query.found:
            query.found[account.contract_id] = _search(account.contract_id, text)
        devices = devices.filter(query.found[account.contract_id])
    if query.ids:
        devices = devices.filter(pk__in=query.ids)
    return devices


# Every order a person can sort the list by; nullable columns are sorted on a value that is
# never NULL (a keyset cannot step over NULL). The default, newest first, follows the
# (contract, id) index.
NEWEST = Keyset("id", descending=True)
_NEVER = Value(EPOCH)
SORT_VALUES: dict[str, Any] = {
    "sort_user": Coalesce(F("user__furigana"), Value("")),
    "sort_report": Coalesce(F("last_status_report_at"), _NEVER),
    "sort_enrolled": Coalesce(F("enrolled_at"), _NEVER),
    "sort_battery": Coalesce(F("battery_level"), Value(-1)),
    "sort_profile": Coalesce(F("applied_policy_version"), Value(-1)),
    "sort_compliance": Case(
        When(policy_compliant=True, then=Value(2)),
        When(policy_compliant=False, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    ),
}
DEVICE_SORTS: dict[str, Keyset] = {
    "name": Keyset("name"),
    "serial_number": Keyset("serial_number"),
    "user": Keyset("sort_user"),
    "organization": Keyset("organization_id"),
    "model": Keyset("model"),
    "android_version": Keyset("android_version"),
    "kind": Keyset("kind"),
    "state": Keyset("applied_state"),
    "compliance": Keyset("sort_compliance"),
    "posture": Keyset("security_posture"),
    "battery": Keyset("sort_battery"),
    "profile": Keyset("sort_profile"),
    "last_report": Keyset("sort_report", datetimes=True),
    "enrolled": Keyset("sort_enrolled", datetimes=True),
}


def device_order(sort: str) -> Keyset:
    """The keyset of a sort key (``"model"``, ``"-last_report"``…); unknown or empty: newest
    first."""
    keyset = DEVICE_SORTS.get(sort.removeprefix("-"))
    if keyset is None:
        return NEWEST
    return dataclasses.replace(keyset, descending=True) if sort.startswith("-") else keyset


def devices_ordered(devices: QuerySet[Device], order: Keyset) -> QuerySet[Device]:
    """``devices`` with the order's value annotated (when it is computed) and in that order."""
    if order.field in SORT_VALUES:
        devices = devices.annotate(**{order.field: SORT_VALUES[order.field]})
    return order.order(devices)


# A page of the list -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class DeviceRow:
    """A device as the list shows it, every value ready to print."""

    pk: int
    label: str  # the serial number, else AMAPI's device id
    device_id: str  # the last part of AMAPI's name
    serial_number: str
    user: str
    user_id: int | None
    organization: str  # the organization's own name
    organization_parent: str  # the parent's name ("" for the top): tells two 「東京」 apart
    organization_path: str
    model: str
    android_version: str
    security_patch_level: str
    kind: str
    state: str
    state_label: str
    compliance: str  # yes / no / unknown
    compliance_label: str
    posture: str
    posture_label: str
    battery: str
    profile_status: str  # current / behind / unknown
    profile_label: str
    profile_version: str  # the applied policy's version, "" before a report
    last_report: str  # in the viewer's timezone
    last_report_ago: str
    enrolled: str
    note: str


@dataclasses.dataclass(frozen=True)
class DevicePage:
    """One page of the list: its rows, the cursor of the next page, the capped count."""

    rows: list[DeviceRow]
    next_cursor: str | None
    total: int  # exact, or COUNT_LIMIT + 1 meaning "more than COUNT_LIMIT"
    total_exact: bool


# The columns a row of the list is made of (the CSV reads them too).
ROW_COLUMNS = (
    "id",
    "name",
    "serial_number",
    "user_id",
    "user__name",
    "organization_id",
    "model",
    "android_version",
    "security_patch_level",
    "kind",
    "applied_state",
    "policy_compliant",
    "security_posture",
    "battery_level",
    "applied_policy_name",
    "applied_policy_version",
    "last_status_report_at",
    "enrolled_at",
    "note",
)


def device_page(
    account: Principal,
    query: DeviceQuery,
    tree: Sequence[OrgNode],
    *,
    after: str = "",
    size: int = 50,
) -> DevicePage:
    """One page of the list in the query's order after the cursor ``after`` (a mangled one
    starts from the first page), with the count up to ``COUNT_LIMIT`` + 1. ``tree`` is the
    organization tree (labels and each organization's profile). A fixed number of queries
    whatever the rows: the page, the count, the profiles (``profile_states``)."""
    order = device_order(query.sort)
    devices = devices_ordered(devices_filtered(account, query), order)
    if after:
        with contextlib.suppress(ValidationError):
            devices = order.after(devices, order.decode(after, field="after"))
    columns = (*ROW_COLUMNS, *([order.field] if order.field in SORT_VALUES else []))
    found = list(devices.values_list(*columns)[: size + 1])
    records = [dict(zip(columns, row, strict=True)) for row in found[:size]]
    rows = device_rows(account, records, tree)
    next_cursor = None
    if len(found) > size:
        last = records[-1]
        next_cursor = order.encode(Position(last[order.field], last["id"]))
    counted = devices_filtered(account, query).order_by()[: COUNT_LIMIT + 1].count()
    return DevicePage(
        rows=rows, next_cursor=next_cursor, total=counted, total_exact=counted <= COUNT_LIMIT
    )


def profile_states(
    account: Principal, records: Sequence[dict[str, Any]], tree: Sequence[OrgNode]
) -> dict[int, tuple[str, str]]:
    """``{device id: (status, label)}``: ``current`` when the device applied its organization's
    profile at the version last published, ``behind`` when it applied another policy or an older
    version, ``unknown`` before it reported one. Two queries whatever the rows."""
    nodes = {n.id: n for n in tree}
    wanted_nodes = [nodes[r["organization_id"]] for r in records if r["organization_id"] in nodes]
    resolved = {
        a.node.id: a.profile_id for a in profiles_resolved(account.contract_id, wanted_nodes)
    }
    profiles = {
        p.pk: p
        for p in Profile.objects.filter(
            contract_id=account.contract_id, pk__in={v for v in resolved.values() if v}
        ).only("pk", "name", "published_version")
    }
    states = {}
    for record in records:
        profile = profiles.get(resolved.get(record["organization_id"]) or 0)
        states[record["id"]] = profile_state(
            profile, record["applied_policy_name"], record["applied_policy_version"]
        )
    return states


def profile_state(
    profile: Profile | None, applied_name: str, applied_version: int | None
) -> tuple[str, str]:
    """``(status, label)`` of one device: see ``profile_states``. AMAPI's applied policy name is
    ``enterprises/{e}/policies/mamori-{profile id}``; its version is ``Policy.version``."""
    if profile is None or applied_version is None or not applied_name:
        return "unknown", _("Not reported")
    if applied_name.rsplit("/", 1)[-1] != f"mamori-{profile.pk}":
        return "behind", _("Another profile")
    if profile.published_version and str(applied_version) == profile.published_version:
        return "current", _("Current")
    return "behind", _("Behind")


def time_ago(moment: datetime.datetime | None, now: datetime.datetime) -> str:
    """ "3 hours ago" in the active language: minutes under an hour, hours under two days, then
    days."""
    if moment is None:
        return ""
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return _("just now")
    if seconds < 3600:
        n = seconds // 60
        return ngettext("%(n)d minute ago", "%(n)d minutes ago", n) % {"n": n}
    if seconds < 48 * 3600:
        n = seconds // 3600
        return ngettext("%(n)d hour ago", "%(n)d hours ago", n) % {"n": n}
    n = seconds // 86400
    return ngettext("%(n)d day ago", "%(n)d days ago", n) % {"n": n}


def local_text(moment: datetime.datetime | None) -> str:
    """``2026-11-30 22:15`` in the active (the viewer's) timezone; ``""`` for none."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def compliance_code(compliant: bool | None) -> str:
    """``yes`` / ``no`` / ``unknown`` of ``Device.policy_compliant``."""
    return {True: "yes", False: "no"}.get(compliant, "unknown")  # type: ignore[arg-type]


def compliance_labels() -> dict[str, str]:
    """The label of each compliance code, in the active language."""
    return {"yes": _("Compliant"), "no": _("Not compliant"), "unknown": _("Not reported")}


def device_rows(
    account: Principal, records: Sequence[dict[str, Any]], tree: Sequence[OrgNode]
) -> list[DeviceRow]:
    """``records`` (dicts of ``ROW_COLUMNS``) as rows ready to print."""
    nodes = {n.id: n for n in tree}
    profiles = profile_states(account, records, tree)
    kinds = {k: str(v) for k, v in DeviceKind.choices}
    states = {k: str(v) for k, v in DeviceState.choices}
    postures = {k: str(v) for k, v in SecurityPosture.choices}
    compliance = compliance_labels()
    now = timezone.now()
    rows = []
    for r in records:
        node = nodes.get(r["organization_id"])
        device_id = r["name"].rsplit("/", 1)[-1]
        code = compliance_code(r["policy_compliant"])
        status, profile_label = profiles[r["id"]]
        rows.append(
            DeviceRow(
                pk=r["id"],
                label=r["serial_number"] or device_id,
                device_id=device_id,
                serial_number=r["serial_number"],
                user=r["user__name"] or "",
                user_id=r["user_id"],
                organization=node.names[-1] if node else "",
                organization_parent=node.names[-2] if node and len(node.names) > 1 else "",
                organization_path=node.path_label if node else "",
                model=r["model"],
                android_version=r["android_version"],
                security_patch_level=r["security_patch_level"],
                kind=kinds.get(r["kind"], r["kind"]),
                state=r["applied_state"],
                state_label=states.get(r["applied_state"], r["applied_state"]),
                compliance=code,
                compliance_label=compliance[code],
                posture=r["security_posture"],
                posture_label=postures.get(r["security_posture"], r["security_posture"]),
                battery=f"{r['battery_level']}%" if r["battery_level"] is not None else "",
                profile_status=status,
                profile_label=profile_label,
                profile_version=""
                if r["applied_policy_version"] is None
                else str(r["applied_policy_version"]),
                last_report=local_text(r["last_status_report_at"]),
                last_report_ago=time_ago(r["last_status_report_at"], now),
                enrolled=local_text(r["enrolled_at"]),
                note=r["note"],
            )
        )
    return rows


# Counts at the top of the list ----------------------------------------------------------------

COUNTED_STATES = (
    DeviceState.ACTIVE,
    DeviceState.PROVISIONING,
    DeviceState.LOST,
    DeviceState.DISABLED,
    DeviceState.DELETED,
)


@dataclasses.dataclass(frozen=True)
class Count:
    """One count at the top of the list: the filter it stands for, and how many."""

    key: str  # "state" or "compliance"
    value: str
    label: str
    count: int  # COUNT_LIMIT + 1 means "more than COUNT_LIMIT"

    @property
    def more(self) -> bool:
        """Whether the count stands for "more than COUNT_LIMIT"."""

        return self.count > COUNT_LIMIT


def device_counts(account: Principal, query: DeviceQuery) -> list[Count]:
    """Devices per state and per compliance among the rest of ``query`` (its organization,
    kind, model… but not its state or compliance), each counted up to ``COUNT_LIMIT`` + 1 on the
    (contract, state, id) and (contract, compliance, id) indexes: seven short queries, never a
    count of the whole contract."""
    base = devices_filtered(account, query, state=False).order_by()
    states = {k: str(v) for k, v in DeviceState.choices}
    counts = [
        Count("state", s, states[s], base.filter(applied_state=s)[: COUNT_LIMIT + 1].count())
        for s in COUNTED_STATES
    ]
    live = base.exclude(applied_state=DeviceState.DELETED)
    labels = compliance_labels()
    counts += [
        Count(
            "compliance",
            code,
            labels[code],
            live.filter(policy_compliant=value)[: COUNT_LIMIT + 1].count(),
        )
        for code, value in (("yes", True), ("no", False))
    ]
    return counts


# A device's page ------------------------------------------------------------------------------

RECENT = 50


def device_commands(account: Principal, device: Device, limit: int = RECENT) -> list[Command]:
    """The device's newest commands with who issued each (the device already read through
    ``device_get``)."""
    return list(
        Command.objects.filter(device=device, contract_id=account.contract_id)
        .select_related("issued_by")
        .order_by("-created_at", "-id")[:limit]
    )


def device_departure(account: Principal, device: Device) -> str:
    """How a device that is no longer managed (``deleted_at`` set) left: ``"removed"`` (removed
    in Mamori: ``devices.delete``, which wipes best effort, logged ``device.removed``),
    ``"wiped"`` or ``"relinquished"`` (its newest WIPE or RELINQUISH_OWNERSHIP command sent or
    succeeded), else ``"deleted"`` (reported DELETED: deleted outside Mamori, or the work
    profile removed on the device). ``""`` for a managed device. Two queries at most."""
    if device.deleted_at is None:
        return ""
    if LogEntry.objects.filter(
        contract_id=account.contract_id,
        target_type="device",
        target_id=str(device.pk),
        action="device.removed",
    ).exists():
        return "removed"
    last = (
        Command.objects.filter(
            device=device,
            contract_id=account.contract_id,
            type__in=(CommandType.WIPE, CommandType.RELINQUISH_OWNERSHIP),
            status__in=(CommandStatus.SENT, CommandStatus.SUCCEEDED),
        )
        .order_by("-created_at", "-id")
        .values_list("type", flat=True)
        .first()
    )
    if last is None:
        return "deleted"
    return "wiped" if last == CommandType.WIPE else "relinquished"


def device_usage_events(
    account: Principal, device: Device, limit: int = RECENT
) -> list[UsageLogEvent]:
    """The device's newest usage-log events."""
    return list(
        UsageLogEvent.objects.filter(device=device, contract_id=account.contract_id).order_by(
            "-event_time", "-id"
        )[:limit]
    )


def device_profile(account: Principal, device: Device) -> tuple[Profile | None, str, str]:
    """``(profile, status, label)``: the profile of the device's organization (its own or
    inherited) and whether the device applied its newest published version."""
    node = OrgNode(
        id=device.organization_id,
        name=device.organization.name,
        parent_id=device.organization.parent_id,
        path=device.organization.path,
        depth=0,
        user_count=0,
        subtree_count=0,
    )
    resolved = profiles_resolved(account.contract_id, [node])[0]
    profile = (
        Profile.objects.filter(contract_id=account.contract_id, pk=resolved.profile_id).first()
        if resolved.profile_id
        else None
    )
    status, label = profile_state(
        profile, device.applied_policy_name, device.applied_policy_version
    )
    return profile, status, label
