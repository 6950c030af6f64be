"""The device list's rows, written out in Python as the user list's are: fifty rows of fifteen
cells through the template engine would cost more than the rest of the page (PERFORMANCE.md).
Every value is escaped; long ones are cut by CSS with the whole value in the title."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from mamori.android.inventory.selectors import DeviceRow

STATE_TONES = {
    "ACTIVE": "bg-green-lt",
    "PROVISIONING": "bg-azure-lt",
    "LOST": "bg-orange-lt",
    "DISABLED": "bg-secondary-lt",
    "DELETED": "bg-secondary-lt",
}
COMPLIANCE_TONES = {"yes": "bg-green-lt", "no": "bg-red-lt", "unknown": "bg-secondary-lt"}
POSTURE_TONES = {
    "SECURE": "bg-green-lt",
    "AT_RISK": "bg-orange-lt",
    "POTENTIALLY_COMPROMISED": "bg-red-lt",
}
PROFILE_TONES = {"current": "bg-green-lt", "behind": "bg-yellow-lt", "unknown": "bg-secondary-lt"}


def _badge(tone: str, text: str) -> str:
    return f'<span class="badge {tone}">{escape(text)}</span>' if text else "—"


def _cell(text: str, css: str = "cell-text") -> str:
    value = escape(text)
    return f'<span class="{css}" title="{value}">{value}</span>' if text else "—"


def device_rows_html(
    rows: Sequence[DeviceRow], devices_url: str, users_url: str, *, bulk: bool
) -> SafeString:
    """``<tr>`` of each row: ``devices_url`` and ``users_url`` are the lists' URLs (a device's
    page is ``{devices_url}{id}/``); ``bulk`` adds the selection's check box."""
    choose = _("Choose %(name)s")
    version_text = _("version %(version)s")
    base, people = escape(devices_url), escape(users_url)
    parts = []
    for row in rows:
        check = (
            f'<td class="col-check"><input class="form-check-input" type="checkbox" '
            f'name="device" value="{row.pk}" data-bulk '
            f'aria-label="{escape(choose % {"name": row.label})}"></td>'
            if bulk
            else ""
        )
        user = (
            f'<a class="cell-text narrow" href="{people}{row.user_id}/" title="{escape(row.user)}">'
            f"{escape(row.user)}</a>"
            if row.user_id
            else "—"
        )
        report = (
            f'{escape(row.last_report)}<span class="d-block small text-secondary">'
            f"{escape(row.last_report_ago)}</span>"
            if row.last_report
            else "—"
        )
        android = escape(row.android_version) or "—"
        if row.security_patch_level:
            android += (
                f'<span class="d-block small text-secondary">'
                f"{escape(row.security_patch_level)}</span>"
            )
        version = (
            f'<span class="d-block small text-secondary">'
            f"{escape(version_text % {'version': row.profile_version})}</span>"
            if row.profile_version
            else ""
        )
        parts.append(
            f"<tr>{check}"
            f'<td><a href="{base}{row.pk}/" class="cell-text narrow" title="{escape(row.label)}">'
            f"{escape(row.label)}</a>"
            f'<span class="d-block small text-secondary cell-text narrow">{escape(row.model)}</span>'
            f"</td>"
            f"<td>{user}</td>"
            f'<td><span class="cell-text narrow" title="{escape(row.organization_path)}">'
            f"{escape(row.organization)}</span>"
            f'<span class="d-block small text-secondary cell-text narrow">'
            f"{escape(row.organization_parent)}</span></td>"
            f"<td>{android}</td>"
            f'<td class="col-wide-only">{_cell(row.kind, "cell-text narrow")}</td>'
            f"<td>{_badge(STATE_TONES.get(row.state, 'bg-secondary-lt'), row.state_label)}</td>"
            f"<td>{_badge(COMPLIANCE_TONES[row.compliance], row.compliance_label)}</td>"
            f'<td class="col-wide-only">'
            f"{_badge(POSTURE_TONES.get(row.posture, 'bg-secondary-lt'), row.posture_label)}</td>"
            f'<td class="col-wide-only">{escape(row.battery) or "—"}</td>'
            f"<td>{_badge(PROFILE_TONES[row.profile_status], row.profile_label)}{version}</td>"
            f'<td class="text-nowrap">{report}</td>'
            f'<td class="col-wide-only text-nowrap">{escape(row.enrolled) or "—"}</td>'
            f"</tr>"
        )
    return mark_safe("".join(parts))  # noqa: S308 -- every value escaped above
