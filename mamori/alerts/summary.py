"""The daily alert summary (issue 10, point 3): once per contract and local day.

Each contract's summary is due at ``summary_hour`` of each day in ``summary_timezone``
(``AlertSettings``; 10:00 Asia/Tokyo by default). The periodic job ``alerts.summary`` (every
minute, run once per slot by whichever worker) finds the contracts whose latest due day has no
``AlertSummary`` claim yet, and for each inserts the claim and queues the mails in one
transaction: the unique constraint on (contract, day) lets one insert win, so a summary is made
exactly once, also with workers racing or a job retried.

- Late: when no worker ran at the hour, the next run makes the summary of the latest due day
  (one, not one per missed day), telling everything since the previous summary and saying it is
  late.
- Daylight saving: the hour is taken on the local calendar, so a day of 23 or 25 hours has one
  summary. An hour that does not exist that day (skipped forward) is the instant the clocks
  jump to; an hour that happens twice is its first occurrence (``zoneinfo``'s ``fold=0``).
- It tells the events (opened, risen, cleared) since the previous summary and the alerts still
  open, grouped by level; no mail when there is nothing to say (the claim is still made).
"""

from __future__ import annotations

import dataclasses
import datetime
import zoneinfo
from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mamori.accounts.models import Account
from mamori.alerts.mail import (
    Told,
    event_told,
    footer_context,
    local_time,
    main_address,
    recipients_of,
    settings_of,
    told,
)
from mamori.alerts.models import (
    Alert,
    AlertAction,
    AlertEvent,
    AlertLevel,
    AlertMail,
    AlertMailChannel,
    AlertSummary,
)
from mamori.contracts.models import Contract
from mamori.core.actor import Actor
from mamori.core.links import absolute_url
from mamori.core.models import Work
from mamori.outbox.models import OutboundMail
from mamori.outbox.services import mail_queue

JOB = "alerts.summary"
EVERY = datetime.timedelta(minutes=1)
# Later than this after its hour, a summary says it is late (the job runs every minute).
LATE_AFTER = datetime.timedelta(minutes=10)
TOLD_ACTIONS = (AlertAction.OPENED, AlertAction.RISEN, AlertAction.CLEARED)


def due_at(day: datetime.date, hour: int, zone: zoneinfo.ZoneInfo) -> datetime.datetime:
    """``hour``:00 of the local ``day`` in ``zone``, in UTC (see the module on DST)."""
    local = datetime.datetime.combine(day, datetime.time(hour), tzinfo=zone)
    return local.astimezone(datetime.UTC)


def latest_due(
    now: datetime.datetime, hour: int, zone: zoneinfo.ZoneInfo
) -> tuple[datetime.date, datetime.datetime]:
    """The latest local day whose summary hour is at or before ``now``, and that instant."""
    day = now.astimezone(zone).date()
    due = due_at(day, hour, zone)
    if due > now:
        day -= datetime.timedelta(days=1)
        due = due_at(day, hour, zone)
    return day, due


def next_due(now: datetime.datetime, hour: int, zone: zoneinfo.ZoneInfo) -> datetime.datetime:
    """When the next summary after ``now`` is due (UTC): the summary hour of the local day
    after the latest due one (see the module on DST)."""
    day, _due = latest_due(now, hour, zone)
    return due_at(day + datetime.timedelta(days=1), hour, zone)


def summaries_send(now: datetime.datetime | None = None) -> int:
    """Make the summary of every active contract that is due and not made yet; returns how
    many this call made (another worker's are not counted)."""
    now = now or timezone.now()
    contracts = list(Contract.objects.filter(status=Contract.Status.ACTIVE))
    settings = settings_of(c.pk for c in contracts)
    due = {}
    for contract in contracts:
        s = settings[contract.pk]
        due[contract.pk] = latest_due(now, s.summary_hour, zoneinfo.ZoneInfo(s.summary_timezone))
    made = set(
        AlertSummary.objects.filter(
            contract_id__in=due.keys(), day__in={day for day, _at in due.values()}
        ).values_list("contract_id", "day")
    )
    sent = 0
    for contract in contracts:
        day, at = due[contract.pk]
        if (contract.pk, day) not in made and summary_send(contract, day, at, now):
            sent += 1
    return sent


def summary_send(
    contract: Contract, day: datetime.date, due: datetime.datetime, now: datetime.datetime
) -> bool:
    """Claim the summary of ``contract`` for ``day`` and queue its mails, in one transaction;
    False when another worker claimed it first."""
    previous = AlertSummary.objects.filter(contract=contract, day__lt=day).order_by("-day").first()
    since = previous.until if previous is not None else due - datetime.timedelta(days=1)
    try:
        with transaction.atomic():
            claim = AlertSummary.objects.create(
                contract=contract,
                day=day,
                due_at=due,
                since=since,
                until=now,
                late=now - due > LATE_AFTER,
            )
            claim.recipients = _mails_queue(contract, claim)
            claim.save(update_fields=["recipients"])
    except IntegrityError:
        return False  # another worker's claim won
    return True


def _mails_queue(contract: Contract, claim: AlertSummary) -> int:
    events = list(
        AlertEvent.objects.filter(
            contract=contract,
            action__in=TOLD_ACTIONS,
            at__gte=claim.since,
            at__lt=claim.until,
        )
        .select_related("alert__device__user", "alert__organization", "alert__contract")
        .order_by("at", "id")
    )
    still_open = list(
        Alert.objects.filter(contract=contract, cleared_at__isnull=True)
        .select_related("device__user", "organization", "contract")
        .order_by("-level", "opened_at", "id")
    )
    if not events and not still_open:
        return 0
    recipients = recipients_of([contract.pk]).get(contract.pk, [])
    for account in recipients:
        mail = _summary_mail(account, claim, events, still_open)
        AlertMail.objects.bulk_create(
            AlertMail(
                contract=contract,
                event=event,
                account=account,
                channel=AlertMailChannel.SUMMARY,
                to=mail.to,
                mail=mail,
                mailed_at=claim.until,
            )
            for event in events
        )
    return len(recipients)


@dataclasses.dataclass(frozen=True)
class Section:
    """A part of the summary: its title and its lines grouped by level, important first."""

    title: str
    levels: list[tuple[str, list[Told]]]

    @property
    def count(self) -> int:
        """How many lines the section has."""
        return sum(len(lines) for _level, lines in self.levels)


def _by_level(title: str, items: Sequence[tuple[int, Told]]) -> Section:
    levels = [
        (str(level.label), [line for at, line in items if at == level])
        for level in sorted(AlertLevel, reverse=True)
    ]
    return Section(title, [(label, lines) for label, lines in levels if lines])


def _sections(
    events: Sequence[AlertEvent],
    still_open: Sequence[Alert],
    zone: zoneinfo.ZoneInfo,
    now: datetime.datetime,
) -> list[Section]:
    sections = [
        _by_level(
            str(AlertAction(action).label),
            [(e.level, event_told(e, zone)) for e in events if e.action == action],
        )
        for action in TOLD_ACTIONS
    ]
    sections.append(
        _by_level(
            _("Still open"),
            [(a.level, told(a, a.opened_at, _("Open since"), zone, now)) for a in still_open],
        )
    )
    return [s for s in sections if s.count]


def _summary_mail(
    account: Account, claim: AlertSummary, events: list[AlertEvent], still_open: list[Alert]
) -> OutboundMail:
    zone = account.zone
    contract = account.contract
    with translation.override(account.language):
        subject = _("[Mamori] Daily alert summary for %(day)s: %(open)s open") % {
            "day": claim.day.isoformat(),
            "open": len(still_open),
        }
        body = render_to_string(
            "alerts/mail_summary.txt",
            {
                "account": account,
                "contract": contract,
                "claim": claim,
                "since": local_time(claim.since, zone),
                "due": local_time(claim.due_at, zone),
                "sections": _sections(events, still_open, zone, claim.until),
                **footer_context(account, main_address(account)),
                "alerts_url": absolute_url("panel:alerts", domain=contract.domain),
            },
        )
    return mail_queue(
        contract=contract,
        kind="alert_summary",
        to=main_address(account),
        subject=subject,
        body=body,
    )


def summary_job(work: Work, actor: Actor) -> str:
    """The periodic job ``alerts.summary`` (``summaries_send``)."""
    return f"summaries {summaries_send()}"
