"""Widgets that render without a template per option: a select of 1,000 organizations through
Django's option templates costs ~90 µs an option (PERFORMANCE.md), this a few µs."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.safestring import SafeString, mark_safe


def _options(choices: Iterable[tuple[Any, Any]], selected: set[str]) -> Iterable[str]:
    # html.escape, not conditional_escape: labels here are plain text, and it is ten times as fast.
    for value, label in choices:
        if isinstance(label, list | tuple):  # an optgroup: (group label, [(value, label), …])
            yield f'<optgroup label="{escape(str(value))}">'
            yield from _options(label, selected)
            yield "</optgroup>"
            continue
        text = "" if value is None else str(value)
        mark = " selected" if text in selected else ""
        yield f'<option value="{escape(text)}"{mark}>{escape(str(label))}</option>'


class FastSelect(forms.Select):
    """``forms.Select`` (optgroups included) written out in Python; its choices are kept as
    given, not normalised on every assignment."""

    @property
    def choices(self) -> Any:
        return self._choices

    @choices.setter
    def choices(self, value: Any) -> None:
        self._choices = value if isinstance(value, list) else list(value)

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        values = value if isinstance(value, list | tuple) else [value]
        selected = {"" if v is None else str(v) for v in values}
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        if self.allow_multiple_selected:
            final["multiple"] = True
        body = "".join(_options(self.choices, selected))
        return mark_safe(f"<select{flatatt(final)}>{body}</select>")  # noqa: S308 -- escaped above


class FastSelectMultiple(FastSelect):
    allow_multiple_selected = True

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        getter = getattr(data, "getlist", None)
        return getter(name) if getter else data.get(name)

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False


def _flat_values(choices: Iterable[tuple[Any, Any]]) -> set[str]:
    values: set[str] = set()
    for value, label in choices:
        if isinstance(label, list | tuple):
            values |= _flat_values(label)
        else:
            values.add("" if value is None else str(value))
    return values


class FastChoiceField(forms.TypedChoiceField):
    """A choice field for long lists (a thousand organizations): the choices are kept as given
    (Django normalises them, field and widget each, on every assignment) and checked by set
    membership; rendered with ``FastSelect``. Choices are ``(value, label)`` pairs or optgroups."""

    widget = FastSelect

    def _get_choices(self) -> Any:
        return self._choices

    def _set_choices(self, value: Any) -> None:
        self._choices = list(value)
        self._values = _flat_values(self._choices)
        self.widget._choices = self._choices

    choices = property(_get_choices, _set_choices)

    def valid_value(self, value: Any) -> bool:
        return str(value) in self._values
