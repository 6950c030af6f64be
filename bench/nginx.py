"""nginx in front of Mamori's web processes, run privately (a prefix directory of its own, a
loopback port) with the repository's ``deploy/nginx/mamori.conf``: for bench.production and the
fault tests (tests/test_faults.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MAIN = """
daemon off;
{user}pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
worker_processes 1;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/mamori.conf;
}}
"""


def nginx_start(prefix: Path, listen: int, upstreams: tuple[int, int]) -> subprocess.Popen:
    """nginx on ``127.0.0.1:listen`` balancing the two web processes on ``upstreams`` (loopback
    ports) exactly as ``deploy/nginx/mamori.conf`` says, its files in ``prefix``; in a process
    group of its own (stop it with SIGTERM)."""
    prefix.mkdir(parents=True, exist_ok=True)
    conf = (PROJECT_ROOT / "deploy" / "nginx" / "mamori.conf").read_text()
    conf = conf.replace("127.0.0.1:8001", f"127.0.0.1:{upstreams[0]}")
    conf = conf.replace("127.0.0.1:8002", f"127.0.0.1:{upstreams[1]}")
    conf = conf.replace("listen 8000;", f"listen 127.0.0.1:{listen};")
    (prefix / "mamori.conf").write_text(conf)
    user = "user root;\n" if os.geteuid() == 0 else ""  # its workers read the temp paths here
    (prefix / "nginx.conf").write_text(MAIN.format(prefix=prefix, user=user))
    return subprocess.Popen(
        [shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(prefix), "-c",
         str(prefix / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=open(prefix / "nginx.out", "wb"),
        start_new_session=True,
    )  # fmt: skip
