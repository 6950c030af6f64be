"""The read replica (issue 11) with a real one: a private PostgreSQL cluster and its streaming
replica made by ``pg_basebackup`` (``tests.private_database``), Mamori pointed at both
(``DATABASE_URL``, ``DATABASE_REPLICA_URL``) in a process of its own.

The replica's replay is paused (``pg_wal_replay_pause()``), so it lags as much as the test wants:
a row written on the primary is missing on the replica until replay resumes. That shows where
each read went:

- the users list is read from the replica (a user added behind its back is not listed);
- the person who just added a user through the panel sees it at once (read-your-writes), and
  again on the replica once the sticky seconds are over and replay has resumed;
- the user's own page and every write stay on the primary;
- a replica that stops answering is not an error: the list is read from the primary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.private_database import private_database
from tests.test_contracts import CREATE
from tests.test_deploy_settings import PRODUCTION
from tests.test_worker import mamori

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = r"""
import json, time
import django
django.setup()
from django.db import connections
from django.test import Client
from mamori.accounts.models import Account
from mamori.directory.models import Organization, User
from mamori.directory.services import UserData, user_create
from mamori.core.actor import Actor

out = {}
admin = Account.objects.get(contract__domain="acme")
admin.must_change_password = False  # as after the first login
admin.save()
root = Organization.objects.get(contract=admin.contract, parent=None)
client = Client()
client.force_login(admin)

def listed(name):
    response = client.get("/acme/users/")
    assert response.status_code == 200, response.status_code
    return name in response.content.decode()

def replica(sql):
    with connections["replica"].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]

# Wait until the replica has the contract, then pause its replay: it lags from now on.
for _ in range(100):
    if replica("SELECT count(*) FROM accounts_account") and replica(
        "SELECT count(*) FROM django_session"):
        break
    time.sleep(0.1)
replica("SELECT pg_wal_replay_pause()::text")
connections["replica"].close()

user_create(actor=Actor.operator(), data=UserData(
    organization=root, name="裏口 一郎", emails=(("ichiro@acme.example", "main"),)))
out["behind_its_back_listed"] = listed("裏口 一郎")
out["behind_its_back_page"] = client.get(
    f"/acme/users/{User.objects.get(name='裏口 一郎').pk}/").status_code

added = client.post("/acme/users/add/", {
    "name": "新人 花子", "furigana": "しんじん はなこ", "organization": root.pk,
    "emails-TOTAL_FORMS": "1", "emails-INITIAL_FORMS": "0",
    "emails-0-address": "hanako@acme.example", "emails-0-category": "main",
})
out["added_status"] = added.status_code
out["wrote_cookie"] = "mamori_wrote" in added.cookies
out["own_write_listed"] = listed("新人 花子")
time.sleep(2.5)  # the sticky seconds are over: the cookie has expired
del client.cookies["mamori_wrote"]
out["own_write_listed_after_sticky_while_paused"] = listed("新人 花子")

replica("SELECT pg_wal_replay_resume()::text")
connections["replica"].close()
for _ in range(100):
    if listed("新人 花子"):
        break
    time.sleep(0.1)
out["listed_after_replay"] = listed("新人 花子") and listed("裏口 一郎")
print(json.dumps(out))
"""
DOWN = r"""
import json
import django
django.setup()
from django.test import Client
from mamori.accounts.models import Account
client = Client()
client.force_login(Account.objects.get(contract__domain="acme"))  # changed its password above
response = client.get("/acme/users/")
print(json.dumps({"status": response.status_code,
                  "listed": "山田 太郎" in response.content.decode()}))
"""


def run(env: dict[str, str], code: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_lists_read_the_replica_and_a_person_reads_their_own_writes(tmp_path: Path) -> None:
    primary = private_database("postgresql")
    replica = None
    try:
        primary.create()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "DJANGO_SETTINGS_MODULE": "mamori.settings",
            "MAMORI_ENV_FILE": "",
            "MAMORI_VAR_DIR": str(tmp_path / "var"),
            "MAMORI_METRICS_DIR": "",
            **PRODUCTION,
            "MAMORI_BASE_URL": "http://testserver",
            "MAMORI_ALLOWED_HOSTS": "testserver",
            "DATABASE_URL": primary.url,
            "MAMORI_REPLICA_STICKY_SECONDS": "2",
        }
        mamori(env, "migrate", "--noinput")
        mamori(env, *CREATE)
        replica = primary.standby()
        env["DATABASE_REPLICA_URL"] = replica.url
        seen = run(env, SCRIPT)
        assert seen == {
            "behind_its_back_listed": False,  # the list came from the lagging replica
            "behind_its_back_page": 200,  # a user's page reads the primary
            "added_status": 302,
            "wrote_cookie": True,
            "own_write_listed": True,  # read-your-writes: the primary
            "own_write_listed_after_sticky_while_paused": False,  # the replica again
            "listed_after_replay": True,
        }
        replica.stop()
        assert run(env, DOWN) == {"status": 200, "listed": True}  # read from the primary
    finally:
        if replica is not None:
            replica.remove()
        primary.remove()
