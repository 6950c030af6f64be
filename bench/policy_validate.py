"""Validating a policy, timed: ``python -m bench.policy_validate [--runs 200]``.

Policies of 10, 300 and 3,000 apps (AMAPI's maximum), each app with an install type, a default
permission policy and a small managed configuration, plus the initial settings profile's other
settings and a password policy: ``policy_errors`` on each (the discovery document parsed and
compiled before timing, as in a running process), and the profile form built from the policy and
submitted unchanged (what a save from the page costs). Prints one table (see bench/README.md)
and the share of the cores other people's processes used meanwhile.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.measure import percentile
from bench.report import cpu_busy


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mamori.settings")
    os.environ.setdefault("MAMORI_SECRET_KEY", "bench-only-not-a-secret-policy-validate")
    os.environ.setdefault("MAMORI_ENV_FILE", "")
    import django

    django.setup()


def policy_of(apps: int) -> dict[str, Any]:
    from mamori.android.policy import initial_policy

    policy = initial_policy()
    policy["passwordPolicies"] = [{"passwordQuality": "NUMERIC", "passwordMinimumLength": 6}]
    policy["applications"] = [
        {
            "packageName": f"com.example.app{i}",
            "installType": "FORCE_INSTALLED" if i % 3 else "AVAILABLE",
            "defaultPermissionPolicy": "GRANT",
            "managedConfiguration": {"server": f"https://{i}.example.jp", "port": 443},
        }
        for i in range(apps)
    ]
    return policy


def timed(action: Callable[[], object], runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        action()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - start)
    return seconds


def form_round_trip(policy: dict[str, Any]) -> None:
    from django.http import QueryDict

    from mamori.android.policy import ProfileForm

    shown = ProfileForm(policy=policy)
    data = QueryDict(mutable=True)
    for name in shown.fields:
        value = shown.initial.get(name)
        if value is True:
            data[name] = "on"
        elif isinstance(value, list):
            data.setlist(name, value)
        elif value is not None and value is not False and value != "":
            data[name] = str(value)
    form = ProfileForm(data, policy=policy)
    assert form.is_valid(), form.errors
    assert form.policy() == policy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--form-runs", type=int, default=20)
    args = parser.parse_args()
    django_setup()
    from mamori.android.policy import policy_errors

    other = cpu_busy(1.0)
    print(f"other processes' CPU share before: {other:.0%} of the cores")
    print("| apps | policy_errors p50 | p95 | form built + submitted unchanged p50 | p95 |")
    print("|--:|--:|--:|--:|--:|")
    for apps in (10, 300, 3000):
        policy = policy_of(apps)
        assert policy_errors(policy) == []
        check = timed(lambda p=policy: policy_errors(p), args.runs, 10)
        form = timed(lambda p=policy: form_round_trip(p), args.form_runs, 2)
        print(
            f"| {apps:,} | {statistics.median(check) * 1000:.2f} ms "
            f"| {percentile(check, 95) * 1000:.2f} ms "
            f"| {statistics.median(form) * 1000:.0f} ms | {percentile(form, 95) * 1000:.0f} ms |"
        )
    print(f"other processes' CPU share after: {cpu_busy(1.0):.0%} of the cores")


if __name__ == "__main__":
    main()
