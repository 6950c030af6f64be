"""The support option's alert mail at once (issue 10, point 3; SPEC.md section 4).

An event ``opened`` or ``risen`` of a kind in the contract's ``AlertSettings.mail_immediately``
is recorded by ``at_once_record`` (in the detector's transaction) as an ``AlertMail`` row per
recipient, with one ``alerts.mail`` work per recipient due at the end of the minute. That work
(``mail_gather``) takes every row of its recipient not yet mailed, under a row lock, and queues
one outbox mail telling them all: events of the same recipient within the same minute are
gathered, and two workers running it at once cannot mail an event twice (the second waits for
the lock, then finds the rows mailed).

Recipients are ``support.selectors.support_option_holders``: enabled System administrators
holding the support option, at their user's **main** address only; each mail in the
recipient's language with times in the recipient's timezone.
"""

from __future__ import annotations

import dataclasses
import datetime
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mamori.accounts.models import Account
from mamori.alerts.models import (
    Alert,
    AlertAction,
    AlertEvent,
    AlertKind,
    AlertLevel,
    AlertMail,
    AlertMailChannel,
    AlertSettings,
)
from mamori.alerts.text import alert_facts, alert_notes, alert_summary
from mamori.core.actor import Actor
from mamori.core.links import absolute_url
from mamori.core.models import Work
from mamori.core.timezones import timezone_display
from mamori.core.work import work_handler, work_submit
from mamori.outbox.models import OutboundMail
from mamori.outbox.services import mail_queue
from mamori.support.selectors import support_option_holders

GATHER = "alerts.mail"
AT_ONCE_ACTIONS = frozenset({AlertAction.OPENED, AlertAction.RISEN})


def settings_of(contract_ids: Iterable[int]) -> dict[int, AlertSettings]:
    """Each contract's ``AlertSettings``; an unsaved row of defaults for one without a row."""
    ids = set(contract_ids)
    saved = AlertSettings.objects.in_bulk(ids)
    return {pk: saved.get(pk) or AlertSettings(contract_id=pk) for pk in ids}


def main_address(account: Account) -> str:
    """The main address of an account from ``support_option_holders`` ('' without one)."""
    emails = account.user.main_emails  # type: ignore[attr-defined]
    return str(emails[0].address) if emails else ""


def recipients_of(contract_ids: Iterable[int]) -> dict[int, list[Account]]:
    """The alert mail's recipients per contract: support-option holders with a main address."""
    found: dict[int, list[Account]] = defaultdict(list)
    for account in support_option_holders().filter(contract_id__in=set(contract_ids)):
        if main_address(account):
            found[account.contract_id].append(account)
    return found


def at_once_record(events: Sequence[AlertEvent]) -> int:
    """Record the mail at once of ``events`` (saved, of any contracts) in the caller's
    transaction: an ``AlertMail`` row per event and recipient, and an ``alerts.mail`` work per
    recipient due at the end of the current minute. Returns the number of rows."""
    told = [e for e in events if e.action in AT_ONCE_ACTIONS]
    if not told:
        return 0
    settings = settings_of(e.contract_id for e in told)
    told = [e for e in told if e.alert.kind in settings[e.contract_id].mail_immediately]
    recipients = recipients_of(e.contract_id for e in told) if told else {}
    rows = [
        AlertMail(
            contract_id=event.contract_id,
            event=event,
            account=account,
            channel=AlertMailChannel.AT_ONCE,
            to=main_address(account),
        )
        for event in told
        for account in recipients.get(event.contract_id, [])
    ]
    AlertMail.objects.bulk_create(rows)
    minute_end = timezone.now().replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
    for account_id, contract_id in sorted({(r.account_id, r.contract_id) for r in rows}):
        work_submit(
            kind=GATHER,
            payload={"account_id": account_id},
            actor=Actor.system(),
            contract_id=contract_id,
            run_after=minute_end,
        )
    return len(rows)


# What a mail says about an alert ------------------------------------------------------------


def local_time(moment: datetime.datetime, zone: zoneinfo.ZoneInfo) -> str:
    """``2026-11-30 19:05 JST``: a time as a recipient in ``zone`` reads it."""
    local = timezone.localtime(moment, zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def alert_url(alert: Alert) -> str:
    """The panel page to open about ``alert``: the alert's own page (Devices → Alerts), which
    links to its device."""
    return absolute_url("panel:alert_detail", domain=alert.contract.domain, alert_id=alert.pk)


def device_label(alert: Alert) -> str:
    """The device as the panel names it (serial number, or its id at Google); "" for an alert
    without a device (the enterprise binding)."""
    return str(alert.device) if alert.device is not None else ""


def level_label(level: int) -> str:
    """A level in the active language (重要, 警告, 注意)."""
    return str(AlertLevel(level).label)


def action_label(event: AlertEvent) -> str:
    """What happened, in the active language: opened, risen from one level to another…"""
    if event.action in (AlertAction.RISEN, AlertAction.LOWERED) and event.previous_level:
        levels = {"previous": level_label(event.previous_level), "level": level_label(event.level)}
        if event.action == AlertAction.RISEN:
            return _("Risen from %(previous)s to %(level)s") % levels
        return _("Lowered from %(previous)s to %(level)s") % levels
    return str(AlertAction(event.action).label)


@dataclasses.dataclass(frozen=True)
class Told:
    """One alert as a mail tells it, in the recipient's language and timezone: what happened
    (``what`` at ``at``), the alert's sentence as its page says it (``summary``), the device
    (``device``: serial number or id; ``device_more``: model and user), its ``organization``,
    ``since`` when it is open (empty when that is ``at``: an alert told as opened), the facts
    in plain words (``details``: non-compliance reasons, risks with Google's advice, why a
    command failed and links), ``notes`` and the page's ``url``."""

    level: str
    kind: str
    what: str
    device: str
    organization: str
    at: str
    url: str
    summary: str = ""
    device_more: str = ""
    since: str = ""
    details: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def device_more(alert: Alert) -> str:
    """The device's model and user (``Pixel 8, 佐藤 花子``), what a reader recognises it by."""
    device = alert.device
    if device is None:
        return ""
    user = device.user.name if device.user_id and device.user is not None else ""
    return ", ".join(part for part in (device.model, user) if part)


def detail_lines(alert: Alert) -> tuple[str, ...]:
    """The alert's facts as mail lines in the active language (``text.alert_facts``, as its
    page shows them): each non-compliance reason with its setting, each risk with Google's
    advice, why a command failed and its page, the page of Settings → Android Enterprise."""
    facts = alert_facts(alert)
    lines: list[str] = []
    if facts["reasons"]:
        lines.append(_("Why the device is not compliant:"))
    for row in facts["reasons"]:
        setting = f"{row['setting']} ({row['package']})" if row["package"] else row["setting"]
        codes = f" [{row['codes']}]" if row["codes"] else ""
        lines.append(f"- {setting}: {row['reasons']}{codes}")
    if facts["risks"]:
        lines.append(_("Security risks:"))
    for risk in facts["risks"]:
        lines.append(f"- {risk['risk']}")
        lines.extend(f"  {advice}" for advice in risk["advice"])
    if facts["command"]:
        lines.append(_("Why: %(reason)s") % {"reason": facts["command"]})
    domain = alert.contract.domain
    if facts["command_id"] is not None:
        url = absolute_url("panel:command_detail", domain=domain, command_id=facts["command_id"])
        lines.append(f"{_('The command and its results')}: {url}")
    if facts["enterprise_settings"]:
        url = absolute_url("panel:android_settings", domain=domain)
        lines.append(f"{_('Settings → Android Enterprise')}: {url}")
    return tuple(lines)


def told(
    alert: Alert,
    moment: datetime.datetime,
    what: str,
    zone: zoneinfo.ZoneInfo,
    now: datetime.datetime | None = None,
) -> Told:
    """``alert`` as a mail tells it, ``what`` happened at ``moment`` (in the active language):
    its sentence as at ``now`` (default: ``moment``)."""
    return Told(
        level=level_label(alert.level),
        kind=str(AlertKind(alert.kind).label),
        what=what,
        device=device_label(alert),
        organization=alert.organization.name if alert.organization is not None else "",
        at=local_time(moment, zone),
        url=alert_url(alert),
        summary=alert_summary(alert, now or moment),
        device_more=device_more(alert),
        since="" if alert.opened_at == moment else local_time(alert.opened_at, zone),
        details=detail_lines(alert),
        notes=tuple(alert_notes(alert)),
    )


def event_told(event: AlertEvent, zone: zoneinfo.ZoneInfo) -> Told:
    """An event as a mail tells it: the alert with its level at the event, its sentence as at
    the event (in the past tense for its clearing: ``text.alert_summary``)."""
    alert = event.alert
    alert.level = event.level  # the level it had then, not now
    return told(alert, event.at, action_label(event), zone)


def footer_context(account: Account, to: str) -> dict[str, str]:
    """What the footer of every alert mail says to ``account`` at ``to`` (its main address):
    why it receives the mail, and where its timezone and the alert settings are changed."""
    domain = account.contract.domain
    return {
        "to": to,
        "zone": timezone_display(account.timezone),
        "settings_url": absolute_url("panel:alerts_settings", domain=domain),
        "account_url": absolute_url("panel:account", domain=domain),
    }


# The gathering work -------------------------------------------------------------------------


def mail_gather(work: Work, actor: Actor) -> str:
    """The ``alerts.mail`` handler: one mail telling every event of the recipient not mailed yet.

    Safe to run twice and with several workers: the rows are locked and marked in the
    transaction that queues the mail. Rows of a recipient who can no longer be mailed are
    marked without a mail.
    """
    account_id = work.payload.get("account_id")
    with transaction.atomic():
        pending = list(
            AlertMail.objects.select_for_update(of=("self",))
            .filter(account_id=account_id, mailed_at__isnull=True)
            .select_related(
                "event__alert__device__user",
                "event__alert__organization",
                "event__alert__contract",
            )
            .order_by("event__at", "id")
        )
        if not pending:
            return "nothing to mail"
        now = timezone.now()
        account = support_option_holders().filter(pk=account_id).first()
        to = main_address(account) if account is not None else ""
        if account is None or not to:
            AlertMail.objects.filter(pk__in=[r.pk for r in pending]).update(mailed_at=now)
            return "recipient no longer mailed"
        mail = _at_once_mail(account, to, [r.event for r in pending])
        AlertMail.objects.filter(pk__in=[r.pk for r in pending]).update(
            mail=mail, mailed_at=now, to=to
        )
    return f"mailed {len(pending)}"


def at_once_subject(events: Sequence[AlertEvent], items: Sequence[Told]) -> str:
    """The subject of a mail at once telling ``events`` (``items``, in the active language):
    one event's level (risen to it, or opened at it), kind and device; several events' highest
    level ("and lower" when not all are at it) and their count."""
    if len(items) == 1:
        item, risen = items[0], events[0].action == AlertAction.RISEN
        told = {"level": item.level, "kind": item.kind, "device": item.device}
        if item.device and risen:
            return _("[Mamori] Risen to %(level)s: %(kind)s on %(device)s") % told
        if item.device:
            return _("[Mamori] %(level)s: %(kind)s on %(device)s") % told
        if risen:
            return _("[Mamori] Risen to %(level)s: %(kind)s") % told
        return _("[Mamori] %(level)s: %(kind)s") % told
    highest = max(e.level for e in events)
    counted = {"level": level_label(highest), "count": len(items)}
    if all(e.level == highest for e in events):
        subject = ngettext(
            "[Mamori] %(level)s: %(count)s alert",
            "[Mamori] %(level)s: %(count)s alerts",
            len(items),
        )
    else:
        subject = ngettext(
            "[Mamori] %(level)s and lower: %(count)s alert",
            "[Mamori] %(level)s and lower: %(count)s alerts",
            len(items),
        )
    return subject % counted


def _at_once_mail(account: Account, to: str, events: list[AlertEvent]) -> OutboundMail:
    zone = account.zone
    with translation.override(account.language):
        items = [event_told(e, zone) for e in events]
        subject = at_once_subject(events, items)
        body = render_to_string(
            "alerts/mail_at_once.txt",
            {
                "items": items,
                "account": account,
                "contract": account.contract,
                **footer_context(account, to),
            },
        )
    return mail_queue(
        contract=account.contract, kind="alert", to=to, subject=subject[:300], body=body
    )


def register() -> None:
    """The gathering work's handler; called from ``AlertsConfig.ready()`` (``notify``)."""
    work_handler(GATHER)(mail_gather)
