"""The inbox of device notifications (Pub/Sub push), and the state of the reconciliations.

Tables of the ``android`` app (migration ``0003_b_inbox``), imported by ``android/models.py``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class InboxState(models.TextChoices):
    """Where a stored message is: waiting to be applied, applied, or kept aside (``reason``)."""

    PENDING = "pending", "pending"
    APPLIED = "applied", "applied"
    REJECTED = "rejected", "rejected"


class InboxMessage(models.Model):
    """One Pub/Sub message, stored once per ``message_id`` by the push endpoint.

    ``data`` is the UTF-8 JSON text of the resource (``message.data``, base64-decoded by the
    endpoint); it is emptied once the message is applied, while the row stays to recognise a
    redelivery for ``INBOX_KEEP_DAYS`` (Pub/Sub keeps unacknowledged messages 7 days by
    default: ANDROID.md 7). ``attempts`` counts the apply runs that left a COMMAND waiting for its
    command row. ``reason`` says why a message was kept aside (``unknown_enterprise``,
    ``unknown_type``, ``malformed``…).
    """

    message_id = models.CharField(max_length=100, unique=True)
    notification_type = models.CharField(max_length=40)
    data = models.TextField(blank=True)
    publish_time = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=InboxState.choices, default=InboxState.PENDING)
    reason = models.CharField(max_length=60, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The apply worker's queue: pending rows in arrival order.
            models.Index(fields=["id"], condition=Q(state="pending"), name="inbox_pending"),
            models.Index(fields=["received_at"], name="inbox_received"),
        ]

    def __str__(self) -> str:
        return f"{self.notification_type} {self.message_id}"


class InboxRejected(models.Model):
    """A push the endpoint acknowledged but could not store as a message (not JSON, no
    ``message``, no ``messageId`` or ``data``, bad base64, not UTF-8): the reason and the start
    of the body, kept ``INBOX_KEEP_DAYS`` for a person to look at (``mamori pubsub stats``)."""

    reason = models.CharField(max_length=60)
    body = models.TextField(blank=True)  # at most REJECTED_BODY_CHARS characters
    received_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.reason} {self.received_at:%Y-%m-%d %H:%M:%S}"


class InboxNudge(models.Model):
    """One row (id 1): ``pending_since`` is set while an apply run is pending or running.

    The push endpoint sets it when it is empty, in the statement that stores its message, and
    then submits one apply work; the apply run empties it when the inbox is drained. So there is
    at most one pending nudge at a time, not a task per message.
    """

    pending_since = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"nudge {self.pending_since}"


class DeviceWalk(models.Model):
    """The paced ``devices.list`` walk of one enterprise: the next page's token, when the walk
    began, and when the next page is due. A device not seen since a complete walk began is
    gone from Google (``Device.deleted_at``)."""

    enterprise = models.OneToOneField(
        "android.Enterprise", on_delete=models.CASCADE, related_name="device_walk"
    )
    page_token = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    next_at = models.DateTimeField(db_index=True)
    pages = models.PositiveIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"walk {self.enterprise_id}"


class DeviceSeen(models.Model):
    """The walk a device was last listed in (``DeviceWalk.started_at``): a separate narrow
    table, so a listed page writes 100 small rows and not the devices' wide ones."""

    device = models.OneToOneField(
        "android.Device", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    walk_started_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"seen {self.device_id}"


class CommandCheck(models.Model):
    """When the commands' reconciliation looks at a sent command again (``operations.get``)."""

    command = models.OneToOneField(
        "android.Command", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    next_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"check {self.command_id}"
