"""A stand-in for the AMAPI gateway in unit tests of the app (the sandbox serves the real
protocol to the gateway's tests and the browser test): records calls, answers like AMAPI."""

from __future__ import annotations

import dataclasses
import itertools
import json
from typing import Any

import pytest

from mamori.android import amapi


@dataclasses.dataclass
class FakeAmapi:
    calls: list[tuple[str, Any]] = dataclasses.field(default_factory=list)
    fail: dict[str, Exception] = dataclasses.field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    counter: itertools.count = dataclasses.field(default_factory=lambda: itertools.count(1))

    def _call(self, method: str, arg: Any) -> None:
        self.calls.append((method, arg))
        if method in self.fail:
            raise self.fail[method]

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls]

    def configured(self) -> bool:
        return True

    def signup_url_create(
        self, *, callback_url: str, admin_email: str | None = None, contract_id: int | None = None
    ) -> dict:
        self._call("signup_url_create", callback_url)
        n = next(self.counter)
        return {"name": f"signupUrls/C{n}", "url": f"http://127.0.0.1:9/signup/{n}"}

    def enterprise_create(
        self,
        *,
        signup_url_name: str,
        enterprise_token: str,
        display_name: str,
        contract_id: int | None = None,
    ) -> dict:
        self._call("enterprise_create", enterprise_token)
        return {
            "name": f"enterprises/LC{next(self.counter)}",
            "enterpriseDisplayName": display_name,
        }

    def enterprise_patch(
        self, name: str, body: dict, *, update_mask: str, contract_id: int | None = None
    ) -> dict:
        self._call("enterprise_patch", (name, body, update_mask))
        return {"name": name, **body}

    def policy_patch(self, name: str, policy: dict, *, contract_id: int | None = None) -> dict:
        self._call("policy_patch", (name, policy))
        return {"name": name, **policy, "version": str(next(self.counter))}

    def policy_delete(self, name: str, *, contract_id: int | None = None) -> None:
        self._call("policy_delete", name)

    def enrollment_token_create(self, enterprise: str, **kw: Any) -> dict:
        self._call("enrollment_token_create", kw)
        n = next(self.counter)
        value = f"TOKENVALUE{n:06d}"
        answer = {
            "name": f"{enterprise}/enrollmentTokens/T{n}",
            "value": value,
            "qrCode": json.dumps(
                {
                    "android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE": {
                        "com.google.android.apps.work.clouddpc.EXTRA_ENROLLMENT_TOKEN": value
                    }
                }
            ),
            "expirationTimestamp": "2099-01-01T00:00:00Z",
        }
        self.tokens[answer["name"]] = answer
        return answer

    def enrollment_token_delete(self, name: str, *, contract_id: int | None = None) -> None:
        self._call("enrollment_token_delete", name)

    def device_delete(self, name: str, **kw: Any) -> None:
        self._call("device_delete", name)

    def device_patch(
        self, name: str, body: dict, *, update_mask: str, contract_id: int | None = None
    ) -> dict:
        self._call("device_patch", (name, body, update_mask))
        return {"name": name, **body}


@pytest.fixture
def fake_amapi(monkeypatch: pytest.MonkeyPatch) -> FakeAmapi:
    fake = FakeAmapi()
    for method in (
        "configured",
        "signup_url_create",
        "enterprise_create",
        "enterprise_patch",
        "policy_patch",
        "policy_delete",
        "enrollment_token_create",
        "enrollment_token_delete",
        "device_patch",
        "device_delete",
    ):
        monkeypatch.setattr(amapi, method, getattr(fake, method))
    return fake
