"""The profile form: the settings administrators use most (issue 8 point 3, ANDROID.md 2.6), built
from a policy dict and giving one back."""

from __future__ import annotations

from typing import Any

from mamori.core.forms import PanelForm


class ProfileForm(PanelForm):
    """``ProfileForm(policy=dict, data=...)``: the policy's settings as grouped fields.

    ``form.groups`` is ``[(legend, [bound fields])]``; ``form.app_rows`` the app rows (each a list
    of bound fields); ``form.warnings`` translated messages; after ``is_valid()``, ``form.policy()``
    is the given policy with the form's fields applied and the "advanced" JSON merged in.
    """

    def __init__(self, *args: Any, policy: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.source = policy or {}

    def policy(self) -> dict[str, Any]:
        """The resulting policy; only after ``is_valid()`` returned True."""
        raise NotImplementedError
