"""The profile form: the settings administrators use most (issue 8 point 3, ANDROID.md 2.6), built
from a policy dict and giving one back.

Each setting of ``fields.SETTINGS`` owns one place of the policy. A value the form cannot show
exactly (a deprecated enum value, 90 seconds in a minutes field, an app's other fields) stays in
the "advanced" JSON, which holds every part of the policy the form does not: submitted unchanged,
the form gives back the policy it was given.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from django import forms
from django.forms import BoundField
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mamori.android.policy import paths
from mamori.android.policy.defaults import policy_warnings
from mamori.android.policy.fields import (
    ABSENT,
    APP_INSTALL_TYPES,
    APP_LABELS,
    APP_PERMISSION_POLICIES,
    GROUPS,
    MESSAGES,
    SETTINGS,
    Setting,
    parse_freeze_periods,
    parse_time,
)
from mamori.android.policy.schema import (
    APPLICATIONS_MAX,
    PolicyError,
    package_name_valid,
    policy_errors,
)
from mamori.core.forms import PanelForm, field_messages

_APP_ROW = re.compile(r"app-([0-9]+)-package_name")
# Row field → the ApplicationPolicy key it edits.
_APP_COLUMNS = {
    "package_name": "packageName",
    "install_type": "installType",
    "default_permission_policy": "defaultPermissionPolicy",
    "managed_configuration": "managedConfiguration",
}


class JsonObjectField(forms.CharField):
    """A textarea holding one JSON object; cleans to a dict, or None when empty."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}))
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> dict[str, Any] | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            parsed = json.loads(text)
        except ValueError as e:
            raise forms.ValidationError(
                gettext("%(label)s is not valid JSON (line %(line)s, column %(column)s).")
                % {
                    "label": self.label,
                    "line": getattr(e, "lineno", 1),
                    "column": getattr(e, "colno", 1),
                }
            ) from e
        if not isinstance(parsed, dict):
            raise forms.ValidationError(
                gettext("%(label)s must be a JSON object ({…}).") % {"label": self.label}
            )
        return parsed


class TimeOfDayField(forms.CharField):
    """ "HH:MM" in the device's local time; cleans to minutes after midnight (0-1439) or None."""

    def clean(self, value: Any) -> int | None:
        text = super().clean(value)
        if not text:
            return None
        minutes = parse_time(text)
        if minutes is None:
            raise forms.ValidationError(
                gettext("Enter %(label)s as HH:MM (for example 02:30).") % {"label": self.label}
            )
        return minutes


class FreezePeriodsField(forms.CharField):
    """Lines "MM/DD-MM/DD"; cleans to AMAPI FreezePeriods, or None when empty."""

    def clean(self, value: Any) -> list[dict[str, Any]] | None:
        text = super().clean(value)
        if not text:
            return None
        periods = parse_freeze_periods(text)
        if periods is None:
            raise forms.ValidationError(
                gettext("Enter %(label)s one a line as MM/DD-MM/DD (for example 12/28-01/03).")
                % {"label": self.label}
            )
        return periods


def _form_field(setting: Setting) -> forms.Field:
    common: dict[str, Any] = {
        "label": setting.label,
        "required": False,
        "help_text": setting.help or "",
    }
    kind = setting.kind
    if kind == "enum":
        return forms.ChoiceField(choices=[("", setting.unset), *setting.choices], **common)
    if kind == "bool":
        return forms.BooleanField(**common)
    if kind in ("int", "minutes", "days"):
        return forms.IntegerField(min_value=0, max_value=setting.maximum, **common)
    if kind == "time":
        return TimeOfDayField(max_length=5, **common)
    if kind == "text":
        return forms.CharField(
            max_length=setting.maximum, widget=forms.Textarea(attrs={"rows": 2}), **common
        )
    if kind == "multi":
        return forms.MultipleChoiceField(
            choices=setting.choices,
            widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
            **common,
        )
    return FreezePeriodsField(widget=forms.Textarea(attrs={"rows": 2}), **common)


def _app_row_fields(index: int) -> dict[str, forms.Field]:
    prefix = f"app-{index}-"
    return {
        f"{prefix}package_name": forms.CharField(
            label=APP_LABELS["packageName"], max_length=255, required=False
        ),
        f"{prefix}install_type": forms.ChoiceField(
            label=APP_LABELS["installType"],
            choices=[("", _("Not set (available)")), *APP_INSTALL_TYPES],
            required=False,
        ),
        f"{prefix}default_permission_policy": forms.ChoiceField(
            label=APP_LABELS["defaultPermissionPolicy"],
            choices=[("", _("Not set (ask the user)")), *APP_PERMISSION_POLICIES],
            required=False,
        ),
        f"{prefix}managed_configuration": JsonObjectField(label=APP_LABELS["managedConfiguration"]),
        f"{prefix}other": JsonObjectField(label=APP_LABELS["other"]),
    }


def _app_row_initial(app: Any) -> dict[str, Any] | None:
    """An app of the policy as a row's initial values (keys as in ``_APP_COLUMNS`` and "other"),
    or None when the app cannot be a row (not an object, no valid package name)."""
    if not isinstance(app, dict) or not isinstance(app.get("packageName"), str):
        return None
    if not package_name_valid(app["packageName"]):
        return None
    other = dict(app)
    row: dict[str, Any] = {"package_name": other.pop("packageName")}
    for column, choices in (
        ("installType", APP_INSTALL_TYPES),
        ("defaultPermissionPolicy", APP_PERMISSION_POLICIES),
    ):
        if other.get(column) in dict(choices):
            row[_column_name(column)] = other.pop(column)
    if isinstance(other.get("managedConfiguration"), dict):
        row["managed_configuration"] = _json_text(other.pop("managedConfiguration"))
    row["other"] = _json_text(other) if other else ""
    return row


def _column_name(key: str) -> str:
    return next(name for name, k in _APP_COLUMNS.items() if k == key)


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


class ProfileForm(PanelForm):
    """``ProfileForm(data=None, *, policy=dict, extra_apps=1)``: the settings of ``policy`` (a
    Policy dict; the initial settings profile's or a stored version's) as grouped fields.

    - ``form.groups``: ``[(legend, [bound fields])]`` in the page's order, the app rows' fields
      in the "Apps" group and the advanced JSON in the last; ``form.app_rows``: the app rows, each
      ``[package name, install type, permissions, managed configuration, other settings]``.
    - App rows: the policy's apps, then ``extra_apps`` empty rows. Bound, the rows are those in
      the data (``app-N-package_name`` …); a true ``add_app`` in the data adds ``extra_apps``
      more (the page's "Add app" button). A row with no package name and nothing else is left out.
    - ``is_valid()`` builds the policy: the advanced JSON, then each field's value at its place
      (a place also set in the advanced JSON is an error naming it), then ``policy_errors``, each
      error shown on the field that owns its path (else on the advanced JSON, else above).
    - ``form.policy()``: that policy (after ``is_valid()`` is True).
    - ``form.warnings``: ``policy_warnings`` of the resulting policy (bound and valid) or of the
      given one.
    """

    def __init__(
        self,
        data: Any = None,
        *args: Any,
        policy: dict[str, Any] | None = None,
        extra_apps: int = 1,
        **kwargs: Any,
    ) -> None:
        self.source: dict[str, Any] = copy.deepcopy(policy) if isinstance(policy, dict) else {}
        advanced = copy.deepcopy(self.source)
        initial: dict[str, Any] = {}
        self._present: set[str] = set()
        for setting in SETTINGS:
            shown = setting.to_form(paths.get(self.source, setting.path))
            if shown is not ABSENT:
                initial[setting.name] = shown
                self._present.add(setting.name)
                paths.pop(advanced, setting.path)
        for key in MESSAGES:
            derived = initial.get(f"{_snake(key)}_en") or initial.get(f"{_snake(key)}_ja")
            if derived and paths.get(self.source, f"{key}.defaultMessage") == derived:
                paths.pop(advanced, f"{key}.defaultMessage")
        rows = [_app_row_initial(app) for app in self.source.get("applications") or []]
        if isinstance(self.source.get("applications"), list) and None not in rows:
            advanced.pop("applications")
        else:
            rows = []
        for i, row in enumerate(rows):
            assert row is not None
            initial.update({f"app-{i}-{name}": value for name, value in row.items()})
        initial["advanced"] = _json_text(advanced) if advanced else ""
        super().__init__(data, *args, initial=initial, **kwargs)
        self._row_count = self._rows_wanted(len(rows), extra_apps)
        self._add_fields()
        self._policy: dict[str, Any] | None = None
        self._app_rows_used: list[int] = []

    def _rows_wanted(self, given: int, extra: int) -> int:
        if not self.is_bound:
            return given + extra
        indexes = [int(m.group(1)) for key in self.data if (m := _APP_ROW.fullmatch(str(key)))]
        count = max(indexes, default=-1) + 1
        if self.data.get("add_app"):
            count += extra
        return min(count, APPLICATIONS_MAX + 100)

    def _add_fields(self) -> None:
        for setting in SETTINGS:
            self.fields[setting.name] = _form_field(setting)
        for i in range(self._row_count):
            self.fields.update(_app_row_fields(i))
        self.fields["advanced"] = JsonObjectField(
            label=_("Other settings (JSON)"),
            help_text=_(
                "Any other field of Google's Policy, as one JSON object; merged with the fields "
                "above, which may not be set here too."
            ),
            widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        )
        for field in self.fields.values():
            field.error_messages.update(field_messages(field))

    @property
    def groups(self) -> list[tuple[str, list[BoundField]]]:
        """``[(legend, [bound fields])]``, the legends translated; the app rows are not in them
        (``app_rows``, shown after the group whose legend is ``apps_legend``)."""
        by_group: dict[str, list[BoundField]] = {key: [] for key in GROUPS}
        for setting in SETTINGS:
            by_group[setting.group].append(self[setting.name])
        by_group["advanced"].append(self["advanced"])
        return [(str(GROUPS[key]), fields) for key, fields in by_group.items() if fields]

    @property
    def apps_legend(self) -> str:
        """The legend of the group the app rows follow."""
        return str(GROUPS["apps"])

    @property
    def app_rows(self) -> list[list[BoundField]]:
        """The app rows, each ``[package name, install type, permissions, managed configuration,
        other settings]`` (bound fields)."""
        names = [*_APP_COLUMNS, "other"]
        return [[self[f"app-{i}-{name}"] for name in names] for i in range(self._row_count)]

    @property
    def warnings(self) -> list[str]:
        """What to know before saving, translated (``defaults.policy_warnings``)."""
        return policy_warnings(self._policy if self._policy is not None else self.source)

    def policy(self) -> dict[str, Any]:
        """The resulting policy: only after ``is_valid()`` returned True (else ValueError)."""
        if self._policy is None or not self.is_bound or self.errors:
            raise ValueError("ProfileForm.policy() needs a valid bound form")
        return self._policy

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        advanced = cleaned.get("advanced") or {}
        result = copy.deepcopy(advanced)
        for setting in SETTINGS:
            value = setting.to_policy(cleaned.get(setting.name), setting.name in self._present)
            if value is ABSENT:
                continue
            if paths.get(advanced, setting.path) is not ABSENT or not paths.put(
                result, setting.path, value
            ):
                self._conflict(setting.path)
        self._default_messages(result)
        apps = self._applications()
        if apps and "applications" in advanced:
            self._conflict("applications")
        elif (
            apps is not None
            and "applications" not in advanced
            and (apps or "applications" in self.source)
        ):
            result["applications"] = apps
        if self.errors:
            return cleaned
        for error in policy_errors(result):
            self._show(error, advanced)
        if not self.errors:
            self._policy = result
        return cleaned

    def _conflict(self, path: str) -> None:
        self.add_error(
            "advanced",
            gettext("%(field)s is set both above and in the JSON: keep one.") % {"field": path},
        )

    def _default_messages(self, result: dict[str, Any]) -> None:
        for key in MESSAGES:
            localized = paths.get(result, f"{key}.localizedMessages")
            texts = localized if isinstance(localized, dict) else {}
            default = texts.get("en") or texts.get("ja")
            if default and paths.get(result, f"{key}.defaultMessage") is ABSENT:
                paths.put(result, f"{key}.defaultMessage", default)

    def _applications(self) -> list[dict[str, Any]] | None:
        """The app rows as ApplicationPolicies, or None after adding a row's error."""
        apps = []
        self._app_rows_used = []
        for i in range(self._row_count):
            app = self._application(i)
            if app is None:
                return None
            if app:
                apps.append(app)
                self._app_rows_used.append(i)
        return apps

    def _application(self, i: int) -> dict[str, Any] | None:
        prefix = f"app-{i}-"
        values = {name: self.cleaned_data.get(prefix + name) for name in (*_APP_COLUMNS, "other")}
        if not any(v not in (None, "") for v in values.values()):
            return {}
        package = values["package_name"]
        if not package:
            self.add_error(
                f"{prefix}package_name",
                gettext("%(label)s is required.") % {"label": APP_LABELS["packageName"]},
            )
            return None
        app: dict[str, Any] = {}
        other = values["other"] or {}
        for name, key in _APP_COLUMNS.items():
            if values[name] in (None, ""):
                continue
            if key in other:
                self.add_error(
                    f"{prefix}other",
                    gettext("%(field)s is set both in the row and in the JSON: keep one.")
                    % {"field": key},
                )
                return None
            app[key] = values[name]
        return {**app, **other}

    def _show(self, error: PolicyError, advanced: dict[str, Any]) -> None:
        """Put ``error`` on the field that owns its path."""
        self.add_error(self._owner(error.field, advanced), error.message)

    def _owner(self, path: str, advanced: dict[str, Any]) -> str | None:
        match = re.match(r"applications\[([0-9]+)\](?:\.([A-Za-z]+))?", path)
        if match and "applications" not in advanced:
            index, key = int(match.group(1)), match.group(2) or ""
            row = self._app_rows_used[index] if index < len(self._app_rows_used) else None
            if row is not None:
                column = {k: n for n, k in _APP_COLUMNS.items()}.get(key, "other")
                if self.cleaned_data.get(f"app-{row}-{column}") in (None, ""):
                    column = "other"  # the key came from the row's JSON
                return f"app-{row}-{column}"
        for setting in SETTINGS:
            if (
                path == setting.path or path.startswith((f"{setting.path}.", f"{setting.path}["))
            ) and (paths.get(advanced, setting.path) is ABSENT):
                return setting.name
        top = paths.tokens(path)[0] if path else ""
        return "advanced" if top in advanced else None


def _snake(key: str) -> str:
    return re.sub(r"([A-Z])", r"_\1", key).lower()
