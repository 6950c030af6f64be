from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from mamori.core.timezones import timezone_choices, timezone_parse
from mamori.core.widgets import FastSelect


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's validation errors on the form's fields (or above it)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


class PanelForm(forms.Form):
    """A panel form: Django's stock messages replaced by ones that name the field, as a
    Japanese product writes them (「氏名を入力してください。」, not 「このフィールドは必須です。」)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.error_messages.update(field_messages(field))
            # No maxlength in the page: a browser counts UTF-16 units (an emoji is two) and cuts
            # a pasted value silently; the server counts characters and says what is too long.
            field.widget.attrs.pop("maxlength", None)
            if isinstance(field.widget, forms.RadioSelect):  # and CheckboxSelectMultiple
                field.widget.attrs.setdefault("class", "form-check-input")


def field_messages(field: forms.Field) -> dict[str, str]:
    """The messages of one field, with its label in them."""
    label = str(field.label or "")
    choose = isinstance(field, forms.ChoiceField | forms.BooleanField)
    messages = {
        "required": (_("%(label)s: choose one.") if choose else _("%(label)s is required."))
        % {"label": label},
        "invalid_choice": _("Choose %(label)s from the list.") % {"label": label},
    }
    if isinstance(field, forms.CharField) and field.max_length:
        messages["max_length"] = _(
            "%(label)s is at most %(limit)d characters (now %%(show_value)d)."
        ) % {"label": label, "limit": field.max_length}
    if isinstance(field, forms.DateTimeField):
        messages["invalid"] = _("Enter %(label)s as a date and time.") % {"label": label}
    if isinstance(field, forms.IntegerField) and not isinstance(
        field, forms.FloatField | forms.DecimalField
    ):
        # "1.5" is a number: say that a whole one is wanted (Django's "Enter a whole number."
        # without the label was replaced by one that did not).
        messages["invalid"] = _("Enter a whole number for %(label)s.") % {"label": label}
    if isinstance(field, forms.IntegerField | forms.TypedChoiceField):
        messages.setdefault("invalid", _("Enter a number for %(label)s.") % {"label": label})
    return messages


class TimezoneField(forms.CharField):
    """A timezone picked from the grouped list ("(UTC+09:00) 東京") or typed as anything
    ``timezone_parse`` reads; cleaned to the IANA name."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("widget", FastSelect)
        super().__init__(**kwargs)

    def choices_for(self, current: str) -> None:
        """Offer the zones, keeping ``current`` (a stored zone) among them."""
        self.widget.choices = timezone_choices(current)

    def clean(self, value: Any) -> str:
        text = super().clean(value)
        return timezone_parse(text) if text else text
