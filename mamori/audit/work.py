"""What the audit app gives the durable-work layer: the periodic checkpoint job, the delivery
of checkpoints to a webhook (an operator's SIEM collector), and the daily log retention."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from django.conf import settings
from django.utils.translation import gettext as _

from mamori.audit.checkpoints import audit_checkpoint_write
from mamori.audit.partitions import partitions_maintain
from mamori.audit.retention import log_retention_run
from mamori.core.actor import Actor
from mamori.core.models import Work
from mamori.core.work import WorkFailed, WorkRetry, work_submit

CHECKPOINT_JOB = "audit.checkpoint"
PARTITIONS_JOB = "audit.partitions"
WEBHOOK = "audit.checkpoint.webhook"
WEBHOOK_TIMEOUT_SECONDS = 10


def checkpoint_job(work: Work, actor: Actor) -> str:
    """Every ``MAMORI_AUDIT_CHECKPOINT_MINUTES``: checkpoint the chain heads that moved (file and
    log stream), and, with ``MAMORI_AUDIT_CHECKPOINT_WEBHOOK`` set, queue their delivery."""
    checkpoints = audit_checkpoint_write()
    url = settings.MAMORI_AUDIT_CHECKPOINT_WEBHOOK
    if checkpoints and url:
        lines = [json.loads(c.to_json()) for c in checkpoints]
        work_submit(kind=WEBHOOK, payload={"url": url, "checkpoints": lines}, actor=actor)
    return f"{len(checkpoints)} checkpoint(s)"


def retention_job(work: Work, actor: Actor) -> str:
    """Daily: apply each contract's log retention (``retention.log_retention_run``)."""
    results = log_retention_run()
    removed = [f"{r.domain} {r.removed}" + (" (stopped)" if r.stopped else "") for r in results]
    return "removed: " + (", ".join(removed) or "nothing to do")


def checkpoint_webhook_post(work: Work, actor: Actor) -> str:
    """POST the checkpoints as a JSON array to the webhook, as the file has them (each signed).

    A 2xx answer delivers them. A refusal that will not pass (4xx other than 408 and 429: a
    wrong URL, a rejected body) fails the work with its reason; anything else (5xx, 429,
    timeouts, refused connections) is retried with backoff.
    """
    url = work.payload["url"]
    body = json.dumps(work.payload["checkpoints"], separators=(",", ":")).encode()
    request = urllib.request.Request(  # noqa: S310 - an http(s) URL the operator configured
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
            return f"delivered ({response.status})"
    except urllib.error.HTTPError as exc:
        reason = _("The checkpoint webhook answered %(status)d.") % {"status": exc.code}
        if 400 <= exc.code < 500 and exc.code not in (408, 429):
            raise WorkFailed(reason) from exc
        raise WorkRetry(reason) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise WorkRetry(
            _("The checkpoint webhook cannot be reached: %(error)s") % {"error": exc}
        ) from exc


def partitions_job(work: Work, actor: Actor) -> str:
    """Daily, on PostgreSQL: the log's month partitions made ahead, finished months rewritten
    in contract order, empty finished months dropped (``mamori.audit.partitions``)."""
    done = partitions_maintain()
    return ", ".join(f"{step}: {' '.join(names) or '-'}" for step, names in done.items())
