"""Production settings (issue 11): ``mamori check --deploy`` passes with the documented ones, and
HTTPS follows the panel's own URL — plain HTTP redirected and HSTS sent when it is https, the
public door's checks answered over plain HTTP, each turned off where a proxy does it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.test_settings import KEY, start

MAMORI = str(Path(sys.executable).parent / "mamori")
# The README's "Running in production" variables (.env.example), with a database of the test run.
PRODUCTION = {
    "MAMORI_SECRET_KEY": KEY + "-production-length",  # ≥ 50 characters (security.W009)
    "MAMORI_AUDIT_KEY": "k1:a-test-audit-key-that-is-long-enough-0123456789",
    "MAMORI_BASE_URL": "https://mdm.example.com",
    "MAMORI_ALLOWED_HOSTS": "mdm.example.com",
    "MAMORI_CSRF_TRUSTED_ORIGINS": "https://mdm.example.com",
}
# Requests through the whole middleware (Django's test client; ``/`` and ``/healthz`` read no
# table).
REQUEST = """
import django, json, sys; django.setup()
from django.test import Client
client = Client()
out = {}
for path, secure, header in [("/", False, {}), ("/", True, {}),
                             ("/healthz", False, {}),
                             ("/", False, {"HTTP_X_FORWARDED_PROTO": "https"})]:
    r = client.get(path, secure=secure, HTTP_HOST="mdm.example.com", **header)
    out[f"{path} {secure} {bool(header)}"] = [r.status_code, r.get("Location", ""),
                                              r.get("Strict-Transport-Security", "")]
print(json.dumps(out))
"""


def test_check_deploy_passes_with_the_documented_production_settings(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()  # the SQLite file Django's checks open
    result = subprocess.run(
        [MAMORI, "check", "--deploy", "--fail-level", "WARNING"],
        cwd=tmp_path,
        env={
            "PATH": os.environ.get("PATH", ""),
            "MAMORI_ENV_FILE": "",
            "MAMORI_VAR_DIR": str(tmp_path / "var"),
            **PRODUCTION,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def answers(tmp_path: Path, **variables: str) -> dict[str, list[object]]:
    (tmp_path / "var").mkdir(exist_ok=True)  # where settings put the SQLite file
    result = start(tmp_path, REQUEST, **{"MAMORI_ENV_FILE": "", **PRODUCTION, **variables})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_an_https_panel_redirects_plain_http_and_sends_hsts_but_not_for_the_door(
    tmp_path: Path,
) -> None:
    seen = answers(tmp_path)
    assert seen["/ False False"] == [301, "https://mdm.example.com/", ""]
    assert seen["/ True False"] == [302, "/login/", "max-age=31536000; includeSubDomains"]
    assert seen["/healthz False False"][:2] == [200, ""]
    # X-Forwarded-Proto is not trusted unless told: a client could send its own.
    assert seen["/ False True"][0] == 301


def test_behind_a_tls_proxy_its_header_is_trusted_and_each_part_can_be_turned_off(
    tmp_path: Path,
) -> None:
    proxied = answers(tmp_path, MAMORI_PROXY_HTTPS_HEADER="true")
    assert proxied["/ False True"][0] != 301
    assert proxied["/ False True"][2] == "max-age=31536000; includeSubDomains"
    off = answers(tmp_path, MAMORI_SSL_REDIRECT="false", MAMORI_HSTS_SECONDS="0")
    assert off["/ False False"][0] != 301
    assert off["/ True False"][2] == ""


def test_an_http_panel_neither_redirects_nor_sends_hsts(tmp_path: Path) -> None:
    seen = answers(tmp_path, MAMORI_BASE_URL="http://127.0.0.1:8000")
    assert seen["/ False False"][0] != 301
    assert seen["/ True False"][2] == ""
