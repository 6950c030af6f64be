"""Fixtures of the Android tests: the AMAPI sandbox (tests/android/sandbox.py)."""

from tests.android.sandbox import amapi_sandbox, amapi_sandbox_server

__all__ = ["amapi_sandbox", "amapi_sandbox_server"]
