"""Mamori's settings with ``/slow`` at the public door (tests/test_serve.py)."""

from mamori.settings import *  # noqa: F403

PUBLIC_URLCONF = "tests.urlconfs.public_slow"
