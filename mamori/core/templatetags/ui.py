"""Template tags of the design system: form controls with their classes, the error summary,
and table cells that never squeeze (long values truncate, the full value on hover)."""

from __future__ import annotations

import json
from typing import Any

from django import forms, template
from django.forms.formsets import BaseFormSet
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from mamori.core.timezones import ABBREVIATIONS, abbreviations_text

register = template.Library()


def _control_class(widget: forms.Widget) -> str:
    if isinstance(widget, forms.CheckboxInput):
        return "form-check-input"
    if isinstance(widget, forms.Select | forms.SelectMultiple):
        return "form-select"
    return "form-control"


@register.simple_tag
def control(field: forms.BoundField, **attrs: Any) -> SafeString:
    """The field's widget with the design system's class, marked invalid (and pointing at its
    error message and help) when it has errors."""
    css = [_control_class(field.field.widget)]
    described = []
    if field.errors:
        css.append("is-invalid")
        attrs["aria-invalid"] = "true"
        described.append(f"{field.auto_id}-error")
    if attrs.pop("help", None):
        described.append(f"{field.auto_id}-help")
    if described:
        attrs["aria-describedby"] = " ".join(described)
    extra = attrs.pop("class", "")
    attrs["class"] = " ".join([*css, extra]).strip()
    return field.as_widget(attrs=attrs)


@register.filter
def is_choice_list(field: forms.BoundField) -> bool:
    """Radio buttons or a list of checkboxes (``RadioSelect``, ``CheckboxSelectMultiple``):
    shown as a list of labelled boxes, not as one control."""
    return isinstance(field.field.widget, forms.RadioSelect)


@register.filter
def is_checklist(field: forms.BoundField) -> bool:
    return isinstance(field.field.widget, forms.CheckboxSelectMultiple)


@register.filter
def is_checkbox(field: forms.BoundField) -> bool:
    return isinstance(field.field.widget, forms.CheckboxInput)


@register.inclusion_tag("form_errors.html")
def error_summary(*forms_: Any, extra: list[str] | None = None) -> dict[str, Any]:
    """Every error of the forms (and formsets) at the top of the page, each field's linked to
    the field; shown as well as the message at each field."""
    general: list[str] = list(extra or [])
    fields: list[tuple[str, str, str]] = []  # (anchor, label or "" when named, message)

    def collect(form: forms.BaseForm) -> None:
        general.extend(str(e) for e in form.non_field_errors())
        for name, errors in form.errors.items():
            if name == "__all__":
                continue
            bound = form[name]
            label = str(bound.label)
            # A message that names its field already links as it is ("Name is required."):
            # "Name: Name is required." says it twice.
            fields.extend((bound.auto_id, "" if label in str(e) else label, str(e)) for e in errors)

    for form in forms_:
        if form is None:
            continue
        if isinstance(form, BaseFormSet):
            general.extend(str(e) for e in form.non_form_errors())
            for row in form.forms:
                collect(row)
        else:
            collect(form)
    return {"general": list(dict.fromkeys(general)), "fields": fields}


@register.simple_tag
def cell(value: Any, width: str = "") -> SafeString:
    """A table cell's text on one line: cut with an ellipsis past its column's width, the whole
    value in the title (shown on hover). ``width``: ``"wide"`` or ``"narrow"`` (CSS)."""
    text = "" if value is None else str(value)
    css = f"cell-text {width}".strip()
    return format_html('<span class="{}" title="{}">{}</span>', css, text, text)


@register.simple_tag
def timezone_help() -> str:
    """The timezone picker's hint, naming every form ``timezone_parse`` reads (in the active
    language)."""
    return _(
        "Choose from the list; the box above finds a zone by city (Tokyo), IANA name "
        "(Asia/Tokyo), abbreviation (%(abbreviations)s) or whole-hour UTC offset (UTC+9)."
    ) % {"abbreviations": abbreviations_text()}


@register.simple_tag
def zone_abbreviations() -> str:
    """The abbreviations ``timezone_parse`` reads (``{"JST": "Asia/Tokyo", …}``) as JSON, for
    the timezone filter box, so that typing one shows the zone it names."""
    return json.dumps(ABBREVIATIONS, separators=(",", ":"))
