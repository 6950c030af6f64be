"""Widgets that render without a template per option: a select of 1,000 organizations through
Django's option templates costs ~90 µs an option (PERFORMANCE.md), this a few µs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
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


@dataclasses.dataclass(frozen=True, slots=True)
class Options:
    """Choices with their ``<option>`` elements written out once (none selected) and their values
    as a set: what a long list that changes rarely (1,000 organizations) keeps in a cache, so a
    page neither writes nor checks it option by option. ``FastSelect`` marks the selected
    options in the written text; ``FastChoiceField`` checks against ``values``."""

    choices: tuple[tuple[Any, Any], ...]
    html: str
    values: frozenset[str]

    @classmethod
    def of(cls, choices: Iterable[tuple[Any, Any]]) -> Options:
        """``(value, label)`` pairs (or optgroups); labels are made plain strings."""
        listed = tuple(_plain(choices))
        return cls(listed, "".join(_options(listed, set())), frozenset(_flat_values(listed)))

    def with_first(self, value: Any, label: Any) -> Options:
        """The same options after one more, such as ``("", _("All organizations"))``."""
        head = Options.of([(value, label)])
        return Options(
            head.choices + self.choices, head.html + self.html, head.values | self.values
        )

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        return iter(self.choices)

    def __len__(self) -> int:
        return len(self.choices)

    def __getitem__(self, index: Any) -> Any:
        return self.choices[index]

    def rendered(self, selected: set[str]) -> str:
        """The options with those whose value is in ``selected`` marked."""
        html = self.html
        for text in selected:
            if text in self.values:
                plain = f'<option value="{escape(text)}">'
                html = html.replace(plain, f'<option value="{escape(text)}" selected>', 1)
        return html


def _plain(choices: Iterable[tuple[Any, Any]]) -> Iterator[tuple[Any, Any]]:
    for value, label in choices:
        if isinstance(label, list | tuple):
            yield str(value), tuple(_plain(label))
        else:
            yield value, str(label)


class FastSelect(forms.Select):
    """``forms.Select`` (optgroups included) written out in Python; its choices are kept as
    given, not normalised on every assignment."""

    @property
    def choices(self) -> Any:
        return self._choices

    @choices.setter
    def choices(self, value: Any) -> None:
        self._choices = value if isinstance(value, list | Options) else list(value)

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
        if isinstance(self.choices, Options):
            body = self.choices.rendered(selected)
        else:
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
    membership; rendered with ``FastSelect``. Choices are ``(value, label)`` pairs or optgroups,
    or ``Options`` (written out and their values collected beforehand)."""

    widget = FastSelect

    def _get_choices(self) -> Any:
        return self._choices

    def _set_choices(self, value: Any) -> None:
        self._choices: Options | list[Any]
        self._values: frozenset[str] | set[str]
        if isinstance(value, Options):
            self._choices, self._values = value, value.values
        else:
            self._choices = list(value)
            self._values = _flat_values(self._choices)
        self.widget._choices = self._choices

    choices = property(_get_choices, _set_choices)

    def valid_value(self, value: Any) -> bool:
        return str(value) in self._values
