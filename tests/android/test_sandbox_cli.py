"""``mamori amapi-sandbox``, run as a person types it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from dotenv import dotenv_values

from tests.android.push_receiver import Receiver, receiver, wait_until
from tests.android.sandbox import AmapiSandbox
from tests.android.test_sandbox import bind, token_make

__all__ = ["receiver"]

MAMORI = str(Path(sys.executable).parent / "mamori")


def mamori(
    *args: str, var: Path, debug: str = "1", extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``mamori`` with only the variables it needs (no .env), its var dir being ``var``."""
    return subprocess.run(
        [MAMORI, *args],
        env={
            "PATH": os.environ.get("PATH", ""),
            "MAMORI_ENV_FILE": "",
            "MAMORI_DEBUG": debug,
            "MAMORI_SECRET_KEY": "tests-only-not-a-secret-7c1d9f0e2b5a4c8e9f1a3b6d",
            "MAMORI_VAR_DIR": str(var),
            **(extra or {}),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_enroll_prints_the_device_names_and_refuses_a_used_one_time_token(
    amapi_sandbox: AmapiSandbox,
) -> None:
    amapi = amapi_sandbox.client()
    enterprise = bind(amapi_sandbox, amapi)
    var = amapi_sandbox.server.var_dir
    reusable = token_make(amapi, enterprise)
    result = mamori("amapi-sandbox", "enroll", "--token", reusable["value"], "--count", "3",
                    "--model", "SH-54D", var=var)  # fmt: skip
    assert result.returncode == 0, result.stderr
    names = result.stdout.split()
    assert len(names) == 3
    listed = amapi.enterprises().devices().list(parent=enterprise["name"]).execute()
    assert [device["name"] for device in listed["devices"]] == names
    assert {device["hardwareInfo"]["model"] for device in listed["devices"]} == {"SH-54D"}

    once = token_make(amapi, enterprise, oneTimeOnly=True)
    assert mamori("amapi-sandbox", "enroll", "--token", once["value"], var=var).returncode == 0
    again = mamori("amapi-sandbox", "enroll", "--token", once["value"], var=var)
    assert again.returncode == 1
    assert again.stdout == ""
    assert (
        "Enrollment refused: The one-time enrollment token has already been used." in again.stderr
    )


def test_enroll_without_a_sandbox_says_to_start_it(tmp_path: Path) -> None:
    result = mamori("amapi-sandbox", "enroll", "--token", "X", var=tmp_path)
    assert result.returncode == 1
    assert "start `mamori amapi-sandbox serve` first" in result.stderr


def test_help_works_as_typed(tmp_path: Path) -> None:
    result = mamori("amapi-sandbox", "serve", "--help", var=tmp_path)
    assert result.returncode == 0
    for option in ("--i-know-this-is-not-google", "--report-interval", "--command-delay",
                   "--push-url", "--duplicate-rate", "--reorder"):  # fmt: skip
        assert option in result.stdout
    device = mamori("amapi-sandbox", "device", "--help", var=tmp_path)
    for option in ("--stop-reporting", "--resume-reporting", "--compromised", "--posture",
                   "--remove-work-profile", "--battery", "--report-now"):  # fmt: skip
        assert option in device.stdout
    load = mamori("amapi-sandbox", "load", "--help", var=tmp_path)
    assert "--devices" in load.stdout and "--rate" in load.stdout and "--seconds" in load.stdout


def test_another_process_enrolls_and_acts_on_devices_and_serve_pushes_what_follows(
    amapi_sandbox: AmapiSandbox, receiver: Receiver
) -> None:
    amapi = amapi_sandbox.client()
    enterprise = bind(amapi_sandbox, amapi)
    amapi.enterprises().policies().patch(
        name=f"{enterprise['name']}/policies/default",
        body={"statusReportingSettings": {"powerManagementEventsEnabled": True}},
    ).execute()
    amapi_sandbox.push_to(receiver.url)
    var = amapi_sandbox.server.var_dir
    enrolled = mamori("amapi-sandbox", "enroll", "--token", token_make(amapi, enterprise)["value"],
                      var=var)  # fmt: skip
    assert enrolled.returncode == 0, enrolled.stderr
    name = enrolled.stdout.strip()
    wait_until(lambda: receiver.messages("ENROLLMENT"))
    assert receiver.messages("ENROLLMENT")[0][1]["name"] == name

    acted = mamori("amapi-sandbox", "device", name, "--battery", "33", "--compromised", var=var)
    assert acted.returncode == 0, acted.stderr
    assert acted.stdout.strip().endswith("potentially compromised, battery 33 %, reports now.")
    report = wait_until(
        lambda: [d for _, d, _ in receiver.messages("STATUS_REPORT")
                 if d["securityPosture"]["devicePosture"] == "POTENTIALLY_COMPROMISED"]
    )[0]  # fmt: skip
    assert report["powerManagementEvents"][0]["batteryLevel"] == 33.0

    secure = mamori("amapi-sandbox", "device", name, "--posture", "secure", var=var)
    assert secure.returncode == 0, secure.stderr
    assert secure.stdout.strip().endswith("secure, reports now.")
    wait_until(
        lambda: (
            [d for _, d, _ in receiver.messages("STATUS_REPORT")][-1]["securityPosture"]
            == {"devicePosture": "SECURE"}
        )
    )

    unknown = mamori("amapi-sandbox", "device", "enterprises/LC0x/devices/nope", "--report-now",
                     var=var)  # fmt: skip
    assert unknown.returncode == 1
    assert "No device is named 'enterprises/LC0x/devices/nope'." in unknown.stderr


def test_load_prints_its_measurements(amapi_sandbox: AmapiSandbox, receiver: Receiver) -> None:
    result = mamori("amapi-sandbox", "load", "--devices", "4", "--rate", "10", "--seconds", "0.3",
                    "--push-url", receiver.url, var=amapi_sandbox.server.var_dir)  # fmt: skip
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert (printed["sent"], printed["acked"], printed["errors"]) == (3, 3, 0)
    assert len(receiver.received) == 3
    missing = mamori("amapi-sandbox", "load", "--rate", "1", "--seconds", "1",
                     var=amapi_sandbox.server.var_dir)  # fmt: skip
    assert missing.returncode == 1 and "No push URL" in missing.stderr


def test_serve_refuses_with_debug_off_unless_told_it_is_not_google(tmp_path: Path) -> None:
    result = mamori("amapi-sandbox", "serve", "--port", "0", var=tmp_path, debug="0")
    assert result.returncode == 1
    assert "--i-know-this-is-not-google" in result.stderr
    assert not (tmp_path / "amapi-sandbox-key.json").exists()


def test_serve_refuses_an_address_that_is_not_loopback(settings: object, tmp_path: Path) -> None:
    settings.DEBUG = True  # type: ignore[attr-defined]
    settings.VAR_DIR = tmp_path  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match="not a loopback address"):
        call_command("amapi_sandbox", "serve", "--host", "0.0.0.0", "--port", "0")  # noqa: S104


def test_serve_writes_the_key_file_and_answers_until_terminated(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [MAMORI, "amapi-sandbox", "serve", "--port", "0", "--i-know-this-is-not-google"],
        env={
            "PATH": os.environ.get("PATH", ""),
            "MAMORI_ENV_FILE": "",
            "MAMORI_DEBUG": "0",
            "MAMORI_SECRET_KEY": "tests-only-not-a-secret-7c1d9f0e2b5a4c8e9f1a3b6d",
            "MAMORI_AUDIT_KEY": "t:tests-only-not-a-secret-audit-key-0123456789",
            "MAMORI_VAR_DIR": str(tmp_path),
            "MAMORI_BASE_URL": "http://127.0.0.1:8999",
            "MAMORI_PUBSUB_PUSH_SECRET": "sandbox-cli-secret-4411",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("AMAPI sandbox (not Google) at http://127.0.0.1:")
        port = first.strip().rsplit(":", 1)[1].rstrip("/")
        lines = [process.stdout.readline() for _ in range(4)]
        assert lines[2].strip() == f"certs:    http://127.0.0.1:{port}/oauth2/v1/certs"
        # the default push URL, its secret never printed
        assert lines[3].strip() == "pushes to http://127.0.0.1:8999/pubsub/amapi/…"
        assert (tmp_path / "amapi-sandbox-key.json").is_file()
        assert (tmp_path / "amapi-sandbox.sqlite3").is_file()
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_make_runs_env_points_the_panel_at_the_sandbox(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[2] / "scripts" / "dev-env"
    subprocess.run([sys.executable, str(script)], cwd=tmp_path, check=True, capture_output=True)
    values = dotenv_values(tmp_path / ".env")
    assert values["MAMORI_AMAPI_ENDPOINT"] == "http://127.0.0.1:8765/"
    assert values["MAMORI_AMAPI_CREDENTIALS"] == str(
        tmp_path.resolve() / "var" / "amapi-sandbox-key.json"
    )
    assert values["MAMORI_PUBSUB_TOPIC"] == "projects/mamori-sandbox/topics/mamori"
