from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class NotAccountNameValidator:
    """Refuse a password that contains, or is contained in, the account name."""

    def validate(self, password: str, user: Any = None) -> None:
        name = (getattr(user, "name", "") or "").casefold()
        if name and (name in password.casefold() or password.casefold() in name):
            raise ValidationError(
                _("The password must not contain the account name."), code="password_is_name"
            )

    def get_help_text(self) -> str:
        return _("Your password must not contain your account name.")
