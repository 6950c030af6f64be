"""Fixtures of the Android tests: the AMAPI sandbox (tests/android/sandbox.py) and, for the
app's unit tests, a stand-in gateway (tests/android/fake_amapi.py)."""

from tests.android.fake_amapi import fake_amapi
from tests.android.sandbox import amapi_sandbox, amapi_sandbox_server

__all__ = ["amapi_sandbox", "amapi_sandbox_server", "fake_amapi"]
