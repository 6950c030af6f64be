"""Mamori's one settings module: every deployment choice comes from the environment.

The environment may come from a ``.env`` file in the current directory (``make run`` writes one;
``MAMORI_ENV_FILE`` names another): it is read first, and a variable set in the real environment
wins over it (``mamori.core.env.env_file_read``).

With no environment but ``MAMORI_DEBUG=1`` it runs on SQLite under ``var/`` and writes mail to
``var/mail/``. ``make run`` runs with debug off (the product's own error pages) and the keys its
``.env`` holds. See ``.env.example`` for every variable.

Settings fail loudly: a value that cannot be read (``MAMORI_DEBUG=ture``, an int that is not an
int, a secret and its ``*_FILE`` both set) and a missing ``MAMORI_SECRET_KEY`` with debug off
raise ``ImproperlyConfigured`` at start, naming the variable (see ``mamori/core/env.py``).
"""

import ipaddress
import os
import secrets
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from mamori.core.env import (
    env_bool,
    env_file_read,
    env_float,
    env_int,
    env_list,
    env_log_level,
    env_secret,
    env_str,
)

# Read before any variable: every entry point (mamori, the worker, WSGI) loads this module.
ENV_FILE = env_file_read()

# ── Paths ────────────────────────────────────────────────────────────────────────────────────

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(env_str("MAMORI_VAR_DIR", str(BASE_DIR.parent / "var")))

# ── Reading the URLs and the key ─────────────────────────────────────────────────────────────


def database_from_url(url: str, variable: str = "DATABASE_URL") -> dict[str, object]:
    """Turn ``sqlite:///path`` or ``postgres://user:pw@host:port/name`` into Django's dict.

    dj-database-url parses the URL; Mamori adds what its two databases need. Any other scheme
    raises ``ImproperlyConfigured`` naming ``variable`` (never the URL: it holds a password).
    """
    try:
        config: dict[str, object] = dict(dj_database_url.parse(url))
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"{variable} is not a database URL Mamori can read ({exc.__class__.__name__}): "
            "use sqlite:///path or postgres://user:password@host:port/name."
        ) from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE makes a writer take the lock at BEGIN, so the operation log's hash
        # chain cannot be read by two writers at once (SQLite has no SELECT FOR UPDATE).
        config["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
        # Tests use a file too: an in-memory database shared between threads has table
        # locks that a real SQLite deployment never sees.
        # One file per test process, so concurrent runs never share it.
        config["TEST"] = {
            # A name of its own (MAMORI_TEST_DB_NAME) lets `make test-fast` reuse the file.
            "NAME": str(
                Path(tempfile.gettempdir())
                / f"{env_str('MAMORI_TEST_DB_NAME', '') or f'mamori-test-{os.getpid()}'}.sqlite3"
            )
        }
        return config
    if config["ENGINE"] == "django.db.backends.postgresql":
        options = dict(config.get("OPTIONS") or {})  # type: ignore[call-overload]
        # JIT compiles plans for big scans (the CSV export) and costs more than it saves on
        # the short indexed queries the panel makes.
        options.setdefault("options", "-c jit=off")
        # A server that does not answer fails a request in seconds (a 503), not after the
        # operating system's TCP timeout; a URL's ?connect_timeout= wins.
        options.setdefault("connect_timeout", 5)
        config["OPTIONS"] = options
        config["PORT"] = str(config.get("PORT") or "")
        # A new connection per request costs ~9 ms of CPU (PERFORMANCE.md).
        config["CONN_MAX_AGE"] = env_int("MAMORI_CONN_MAX_AGE", 60, minimum=0)
        config["CONN_HEALTH_CHECKS"] = True
        # Two suites on one machine must not share the test database.
        config["TEST"] = {"NAME": env_str("MAMORI_TEST_DB_NAME", "") or f"test_{config['NAME']}"}
        return config
    raise ImproperlyConfigured(
        f"{variable} names a {config['ENGINE']} database: Mamori runs on SQLite or PostgreSQL."
    )


def mailer_from_url(url: str, variable: str = "EMAIL_URL") -> dict[str, object]:
    """Turn ``EMAIL_URL`` into the default entry of Django's ``MAILERS``.

    ``smtp://user:pw@host:port`` (``smtps://`` for implicit TLS, ``?tls=1`` for STARTTLS),
    ``file:///path`` writes each message to a readable ``.eml`` file there (``file://`` alone:
    ``var/mail``), ``console://`` prints it. Any other
    scheme raises ``ImproperlyConfigured`` naming ``variable``.
    """
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if parts.scheme in {"smtp", "smtps"}:
        return {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": parts.hostname or "127.0.0.1",
                "port": parts.port or (465 if parts.scheme == "smtps" else 25),
                "username": unquote(parts.username or ""),
                "password": unquote(parts.password or ""),
                "use_ssl": parts.scheme == "smtps",
                "use_tls": query.get("tls", ["0"])[-1] in {"1", "true"},
                "timeout": 10,
            },
        }
    if parts.scheme == "file":
        # One readable .eml file per message (UTF-8, 8bit): `mamori mail show` prints them.
        return {
            "BACKEND": "mamori.outbox.backends.EmlFileBackend",
            "OPTIONS": {"file_path": unquote(parts.path) or str(VAR_DIR / "mail")},
        }
    if parts.scheme == "console":
        return {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    raise ImproperlyConfigured(
        f"{variable} has the scheme {parts.scheme!r}: use smtp://, smtps://, file:// or console://."
    )


def amapi_endpoint(url: str, variable: str = "MAMORI_AMAPI_ENDPOINT") -> str:
    """The AMAPI base URL, refused unless https or on loopback (127.0.0.0/8, ::1, localhost).

    Tokens and device data travel on it; plain http is for the sandbox on this machine only.
    Raises ``ImproperlyConfigured`` naming ``variable``.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and loopback:
        return url
    raise ImproperlyConfigured(
        f"{variable}={url!r} is refused: AMAPI must be reached over https:// "
        "(plain http:// only on loopback: 127.0.0.0/8, ::1 or localhost, for the sandbox)."
    )


def secret_key(debug: bool) -> str:
    """``MAMORI_SECRET_KEY`` (or ``MAMORI_SECRET_KEY_FILE``); only with debug on, a key of var/.

    Without debug a missing key raises ``ImproperlyConfigured``: a key made per machine would
    sign sessions and tokens that no other machine of the deployment accepts.
    """
    key = env_secret("MAMORI_SECRET_KEY")
    if key:
        return key
    if not debug:
        raise ImproperlyConfigured(
            "MAMORI_SECRET_KEY is not set. With MAMORI_DEBUG off, every machine of a deployment "
            "needs the same secret key: make one with\n"
            "  python -c 'import secrets; print(secrets.token_urlsafe(50))'\n"
            "and set MAMORI_SECRET_KEY to it, or MAMORI_SECRET_KEY_FILE to a file that holds it. "
            "For development, run `make run` (it keeps one in .env) or set MAMORI_DEBUG=1 (a key "
            "is then kept in var/secret-key)."
        )
    path = VAR_DIR / "secret-key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


# ── Mode, secret key, addresses ──────────────────────────────────────────────────────────────

DEBUG = env_bool("MAMORI_DEBUG", False)
SECRET_KEY = secret_key(DEBUG)
ALLOWED_HOSTS = env_list("MAMORI_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("MAMORI_CSRF_TRUSTED_ORIGINS", [])
MAMORI_BASE_URL = env_str("MAMORI_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
if urlsplit(MAMORI_BASE_URL).scheme not in {"http", "https"}:
    raise ImproperlyConfigured("MAMORI_BASE_URL must start with https:// (or http://).")
MAMORI_MAIL_FROM = env_str("MAMORI_MAIL_FROM", "Mamori <no-reply@mamori.invalid>")
DEFAULT_FROM_EMAIL = MAMORI_MAIL_FROM
# Where support inquiries from support-option accounts are mailed: the service's support desk.
MAMORI_SUPPORT_EMAIL = env_str("MAMORI_SUPPORT_EMAIL", "support@mamori.invalid")

# ── Applications, middleware, URLs ───────────────────────────────────────────────────────────

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_tasks_db",
    # Only for its templates and static files: /api/v1/docs serves Swagger UI itself, no CDN.
    "ninja",
    "mamori.core",
    "mamori.contracts",
    "mamori.directory",
    "mamori.accounts",
    "mamori.audit",
    "mamori.outbox",
    "mamori.support",
    "mamori.users_csv",
    "mamori.android",
    "mamori.alerts",
    "mamori.provider",
    "mamori.panel",
    "mamori.android.amapi",
]

MIDDLEWARE = [
    "mamori.core.metrics.MetricsMiddleware",
    "mamori.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # The public door (/healthz, /readyz, /metrics, the Pub/Sub push): answered here, so nothing
    # below (session, locale, CSRF, auth, contract) runs for those paths.
    "mamori.core.door.PublicDoorMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # With a replica: a browser that just changed something reads the primary for a while.
    "mamori.core.replica.RecentWriteMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Every error under /api/ in JSON with a code, in the request's language.
    "mamori.core.errors.ApiErrorMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "mamori.contracts.middleware.ContractMiddleware",
    # A NUL or a lone surrogate in any text of the panel's or the API's requests: a clear 400
    # (in the account's language, which ContractMiddleware has activated).
    "mamori.core.middleware.UnstorableTextMiddleware",
    "mamori.core.middleware.SessionIdleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Every script, style, font and image is the app's own file; no inline script or style, no
# style="" or onclick= (tests/test_csp.py holds every page to it). data: is for the SVG icons
# inside the design system's CSS (select arrows, check marks).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

ROOT_URLCONF = "mamori.urls"
# Device- and Google-facing views, outside /<domain>/; PublicDoorMiddleware serves them.
PUBLIC_URLCONF = "mamori.public_urls"
WSGI_APPLICATION = "mamori.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mamori.panel.context_processors.panel",
            ],
        },
    },
]

# ── Database ─────────────────────────────────────────────────────────────────────────────────

DATABASES = {
    "default": database_from_url(
        env_secret("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'mamori.sqlite3'}"
    )
}
# A PostgreSQL streaming replica for the heavy reads that tolerate a second of lag
# (mamori.core.replica): the log, device, user and alert lists and their exports. Writes, reads
# inside a write's transaction and a browser that just saved something stay on the primary for
# MAMORI_REPLICA_STICKY_SECONDS.
_replica_url = env_secret("DATABASE_REPLICA_URL")
if _replica_url:
    DATABASES["replica"] = database_from_url(_replica_url, "DATABASE_REPLICA_URL")
    if DATABASES["replica"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL must name a PostgreSQL replica.")
    # The tests' replica is the test database itself.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["mamori.core.replica.ReplicaRouter"]
MAMORI_REPLICA_STICKY_SECONDS = env_int("MAMORI_REPLICA_STICKY_SECONDS", 5, minimum=1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Local memory, per process (no Redis in the default deployment). What is cached per contract
# carries the version the database keeps of its data in its key (``contracts.versions``), so no
# process serves an entry after a change another made. An organization tree of 1,000 entries is
# ~90 KB.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "TIMEOUT": 3600,
        "OPTIONS": {"MAX_ENTRIES": env_int("MAMORI_CACHE_ENTRIES", 1000, minimum=10)},
    }
}

# ── Accounts and sessions ────────────────────────────────────────────────────────────────────

AUTH_USER_MODEL = "accounts.Account"
AUTHENTICATION_BACKENDS = ["mamori.accounts.backends.ContractAccountBackend"]
# Account names are unique within a contract, not across the deployment (auth.W004); HSTS
# preloading is the domain owner's choice (security.W021, see "HTTPS" below).
SILENCED_SYSTEM_CHECKS = ["auth.W004", "security.W021"]
PASSWORD_HASHERS = [
    "mamori.accounts.hashers.MamoriArgon2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "mamori.accounts.validators.NotAccountNameValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = env_int("MAMORI_SESSION_IDLE_MINUTES", 30, minimum=1) * 60
# SessionIdleMiddleware moves the expiry forward as the person works: an idle timeout.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = MAMORI_BASE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_NAME = "mamori_session"
LANGUAGE_COOKIE_NAME = "mamori_language"

# ── Languages, time, static files ────────────────────────────────────────────────────────────

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# ── Background work and mail ─────────────────────────────────────────────────────────────────


def task_backend(name: str, redis_url: str) -> tuple[dict[str, object], dict[str, object]]:
    """Django's ``TASKS`` entry and django-rq's ``RQ_QUEUES`` for ``MAMORI_TASK_BACKEND``.

    ``database`` (the default: django-tasks-db's table, nothing to install), ``rq`` (RQ on the
    Redis at ``MAMORI_REDIS_URL``, required then: ``redis://[:password@]host:port/db``), or a
    backend's dotted class path (benchmarks use Django's dummy one). The database stays the
    truth either way: a task only names a work row (``mamori.core.work``). Anything else raises
    ``ImproperlyConfigured`` naming the variable.
    """
    if name == "database":
        return {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}, {}
    if name == "rq":
        if urlsplit(redis_url).scheme not in {"redis", "rediss", "unix"}:
            raise ImproperlyConfigured(
                "MAMORI_TASK_BACKEND=rq needs MAMORI_REDIS_URL (or MAMORI_REDIS_URL_FILE): "
                "redis://[:password@]host:port/db, rediss:// for TLS or unix:///path."
            )
        # No timeout: a long CSV import keeps its work by its lease, as on the database queue.
        return {"BACKEND": "mamori.core.work.rq.RQBackend", "QUEUES": ["default"]}, {
            "default": {"URL": redis_url, "DEFAULT_TIMEOUT": -1}
        }
    if "." in name:
        return {"BACKEND": name, "QUEUES": ["default"]}, {}
    raise ImproperlyConfigured(
        f"MAMORI_TASK_BACKEND={name!r} is not valid: use database (the default) or rq."
    )


MAMORI_TASK_BACKEND = env_str("MAMORI_TASK_BACKEND", "database")
_tasks, RQ_QUEUES = task_backend(MAMORI_TASK_BACKEND, env_secret("MAMORI_REDIS_URL"))
TASKS = {"default": _tasks}

EMAIL_URL = env_secret("EMAIL_URL") or f"file://{VAR_DIR / 'mail'}"
MAILERS = {"default": mailer_from_url(EMAIL_URL)}

# Mail delivery retries: first retry after MAIL_RETRY_BASE seconds, doubling up to MAIL_RETRY_MAX.
MAMORI_MAIL_RETRY_BASE_SECONDS = env_float("MAMORI_MAIL_RETRY_BASE_SECONDS", 15, minimum=0)
MAMORI_MAIL_RETRY_MAX_SECONDS = env_float("MAMORI_MAIL_RETRY_MAX_SECONDS", 600, minimum=0)

# Alert webhooks call public addresses only (mamori.alerts.webhooks.addresses); on, they may also
# call loopback, private and link-local ones (receivers on the deployment's own network).
MAMORI_WEBHOOK_ALLOW_PRIVATE = env_bool("MAMORI_WEBHOOK_ALLOW_PRIVATE", False)

# ── Durable work ──────────────────────────────────────────────────────────────────────────────

# Durable work (mamori.core.work): a worker renews the lease of the work it runs every RENEW
# seconds; work whose lease ran out (its worker is gone) is recovered by the job that runs every
# RECOVER_EVERY seconds, as is pending work whose task was lost LOST_AFTER seconds ago.
MAMORI_WORK_LEASE_SECONDS = env_float("MAMORI_WORK_LEASE_SECONDS", 30, minimum=1)
MAMORI_WORK_RENEW_SECONDS = env_float("MAMORI_WORK_RENEW_SECONDS", 10, minimum=0.1)
MAMORI_WORK_RECOVER_EVERY_SECONDS = env_float("MAMORI_WORK_RECOVER_EVERY_SECONDS", 15, minimum=1)
MAMORI_WORK_LOST_AFTER_SECONDS = env_float("MAMORI_WORK_LOST_AFTER_SECONDS", 30, minimum=1)
MAMORI_WORK_KEEP_DAYS = env_float("MAMORI_WORK_KEEP_DAYS", 7, minimum=0)  # finished work rows

# ── Android Enterprise (mamori.android.amapi) ────────────────────────────────────────────────

# The service account's JSON key file (empty: Android Enterprise is off); the project id is read
# from it unless set. The endpoint is Google's unless the sandbox's (http only on loopback).
MAMORI_AMAPI_CREDENTIALS = env_str("MAMORI_AMAPI_CREDENTIALS", "")
MAMORI_AMAPI_PROJECT_ID = env_str("MAMORI_AMAPI_PROJECT_ID", "")
MAMORI_AMAPI_ENDPOINT = amapi_endpoint(
    env_str("MAMORI_AMAPI_ENDPOINT", "https://androidmanagement.googleapis.com/")
)
# projects/{project}/topics/{topic}: where Google publishes device notifications.
MAMORI_PUBSUB_TOPIC = env_str("MAMORI_PUBSUB_TOPIC", "")
# The project's quota (queries per window, AMAPI: 1,000 per 100 s); Mamori spends 90 % of it.
MAMORI_AMAPI_QUOTA = env_int("MAMORI_AMAPI_QUOTA", 1000, minimum=1)
MAMORI_AMAPI_QUOTA_WINDOW_SECONDS = env_float("MAMORI_AMAPI_QUOTA_WINDOW_SECONDS", 100, minimum=1)
# Seconds a person waits for an inline call (signup, enrollment token); queued calls' timeout.
MAMORI_AMAPI_INLINE_TIMEOUT = env_float("MAMORI_AMAPI_INLINE_TIMEOUT", 10, minimum=0.1)
MAMORI_AMAPI_TIMEOUT = env_float("MAMORI_AMAPI_TIMEOUT", 60, minimum=0.1)

# Device notifications (Pub/Sub push to /pubsub/amapi/<secret>, mamori.android.notifications).
# The secret ends the push URL (empty: the endpoint answers 404 to everything). When AUDIENCE is
# set, every push must carry Google's OIDC token for it, issued to SERVICE_ACCOUNT; CERTS_URL is
# where Google's signing certificates are (the sandbox's own in development, never in production).
MAMORI_PUBSUB_PUSH_SECRET = env_secret("MAMORI_PUBSUB_PUSH_SECRET")
MAMORI_PUBSUB_AUDIENCE = env_str("MAMORI_PUBSUB_AUDIENCE", "")
MAMORI_PUBSUB_SERVICE_ACCOUNT = env_str("MAMORI_PUBSUB_SERVICE_ACCOUNT", "")
MAMORI_PUBSUB_CERTS_URL = env_str(
    "MAMORI_PUBSUB_CERTS_URL", "https://www.googleapis.com/oauth2/v1/certs"
)
if MAMORI_PUBSUB_AUDIENCE and not MAMORI_PUBSUB_SERVICE_ACCOUNT:
    raise ImproperlyConfigured(
        "MAMORI_PUBSUB_AUDIENCE is set: set MAMORI_PUBSUB_SERVICE_ACCOUNT too (the e-mail of the "
        "service account the push subscription's OIDC tokens are issued to)."
    )
# Usage-log events (USAGE_LOGS) are kept this many days.
MAMORI_USAGE_LOG_RETENTION_DAYS = env_int("MAMORI_USAGE_LOG_RETENTION_DAYS", 30, minimum=1)
# Reconciliation: one devices.list page per enterprise every this many seconds (100 devices a
# page: 100,000 devices are walked in 1,000 pages), and operations.get for commands sent longer
# than COMMAND_RECONCILE_MINUTES ago without a COMMAND notification.
MAMORI_DEVICE_RECONCILE_SECONDS = env_float("MAMORI_DEVICE_RECONCILE_SECONDS", 30, minimum=1)
MAMORI_COMMAND_RECONCILE_MINUTES = env_float("MAMORI_COMMAND_RECONCILE_MINUTES", 5, minimum=0.1)

# ── Login throttling and proxies ─────────────────────────────────────────────────────────────

# Login throttling: failures per account name, and per IP address, within the window.
MAMORI_LOGIN_MAX_FAILURES = env_int("MAMORI_LOGIN_MAX_FAILURES", 5, minimum=1)
MAMORI_LOGIN_WINDOW_SECONDS = env_int("MAMORI_LOGIN_WINDOW_SECONDS", 900, minimum=1)
MAMORI_LOGIN_LOCK_SECONDS = env_int("MAMORI_LOGIN_LOCK_SECONDS", 900, minimum=0)
MAMORI_LOGIN_MAX_FAILURES_PER_IP = env_int("MAMORI_LOGIN_MAX_FAILURES_PER_IP", 50, minimum=1)
# Behind a load balancer, the number of proxies whose X-Forwarded-For entries are trusted.
MAMORI_TRUSTED_PROXIES = env_int("MAMORI_TRUSTED_PROXIES", 0, minimum=0)

# HTTPS (`mamori check --deploy`: security.W004, W008). When the panel's own URL is https, plain
# HTTP requests are redirected to it and browsers are told to use HTTPS alone for a year (HSTS,
# RFC 6797), subdomains of the panel's host included; each can be turned off where a proxy in
# front does it. Behind a proxy that ends TLS, MAMORI_PROXY_HTTPS_HEADER=true trusts its
# X-Forwarded-Proto (set only when the proxy overwrites it: a client could send its own), or the
# redirect would loop. The public door (/healthz, /readyz, /metrics) answers plain HTTP, for a
# load balancer's checks inside the network.
_HTTPS = MAMORI_BASE_URL.startswith("https://")
SECURE_SSL_REDIRECT = env_bool("MAMORI_SSL_REDIRECT", _HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|metrics)$"]
SECURE_HSTS_SECONDS = env_int("MAMORI_HSTS_SECONDS", 31_536_000 if _HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("MAMORI_HSTS_INCLUDE_SUBDOMAINS", True)
# Preloading is a promise to the browsers' list, which only the domain's owner can make
# (https://hstspreload.org): off unless asked for, so check --deploy's W021 is silenced below.
SECURE_HSTS_PRELOAD = env_bool("MAMORI_HSTS_PRELOAD", False)
if env_bool("MAMORI_PROXY_HTTPS_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# ── Metrics ──────────────────────────────────────────────────────────────────────────────────

# Prometheus metrics at /metrics (mamori.core.metrics), for these addresses or networks only.
MAMORI_METRICS_ALLOW = env_list("MAMORI_METRICS_ALLOW", ["127.0.0.1", "::1"])
for _network in MAMORI_METRICS_ALLOW:
    try:
        ipaddress.ip_network(_network)
    except ValueError:
        raise ImproperlyConfigured(
            f"MAMORI_METRICS_ALLOW: {_network!r} is not an address or network (10.0.0.0/8)."
        ) from None
# The processes of one host (mamori serve's, the workers) add up their counters through files in
# this directory (prometheus-client's multiprocess mode, switched on here, before the library is
# imported); empty: each process counts alone (the tests).
MAMORI_METRICS_DIR = env_str("MAMORI_METRICS_DIR", str(VAR_DIR / "metrics"))
if MAMORI_METRICS_DIR:
    Path(MAMORI_METRICS_DIR).mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = MAMORI_METRICS_DIR
else:
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)

# ── Pages and logging ────────────────────────────────────────────────────────────────────────

LOG_PAGE_SIZE = 50

# Operation-log integrity (mamori/audit/keys.py): HMAC keys "id:secret,…" (the first signs), or a
# file holding them; without either only a debug run works (it keeps a key in var/audit-key).
MAMORI_AUDIT_KEY = env_secret("MAMORI_AUDIT_KEY")
MAMORI_AUDIT_CHECKPOINT_FILE = env_str("MAMORI_AUDIT_CHECKPOINT_FILE", "") or str(
    VAR_DIR / "audit-checkpoints.jsonl"
)
# Checkpoints of the log's chain heads are written every this many minutes (a periodic job), and
# POSTed as JSON to this URL when it is set (a SIEM's collector), through durable work.
MAMORI_AUDIT_CHECKPOINT_MINUTES = env_int("MAMORI_AUDIT_CHECKPOINT_MINUTES", 5, minimum=1)
MAMORI_AUDIT_CHECKPOINT_WEBHOOK = env_str("MAMORI_AUDIT_CHECKPOINT_WEBHOOK", "")
# Entries removed by a contract's log retention (Settings → Operation log) are first written
# here, gzip'd JSON lines per contract and month: <dir>/<domain>/<YYYY-MM>.jsonl.gz.
MAMORI_AUDIT_ARCHIVE_DIR = env_str("MAMORI_AUDIT_ARCHIVE_DIR", "") or str(VAR_DIR / "audit-archive")

# Log lines as plain text (the message alone) or as JSON lines carrying the request id.
MAMORI_LOG_FORMAT = env_str("MAMORI_LOG_FORMAT", "text")
if MAMORI_LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"MAMORI_LOG_FORMAT={MAMORI_LOG_FORMAT!r} is not text or json.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # The push secret ends a path (/pubsub/amapi/<secret>): redacted in every line printed.
    "filters": {
        "push_secret": {"()": "mamori.android.notifications.logs.PushSecretFilter"},
        # A refused request (403, 404) is a line, not a traceback (mamori.core.logs).
        "refusal_traceback": {"()": "mamori.core.logs.RefusalTracebackFilter"},
        "request_id": {"()": "mamori.core.logs.RequestIdFilter"},
    },
    "formatters": {
        "text": {"format": "%(message)s"},
        # One JSON object a line: time, level, logger, message, the request id, the status of a
        # refused request and a traceback when there is one (nothing else: an allow-list).
        "json": {"()": "mamori.core.logs.JsonLineFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["push_secret", "refusal_traceback", "request_id"],
            "formatter": MAMORI_LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env_log_level("MAMORI_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own console handler (with debug on) would print every line a second time
        # through the root logger: its lines go to the root's handler alone.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # The development server's access lines, through the filtered console handler.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "INFO"},
        # db_worker adds a handler of its own; don't print its lines twice.
        "django_tasks_db": {"propagate": False},
        # A line per task state (periodic jobs run every few seconds) drowns what matters; the
        # worker logs failures, retries and outages itself ("mamori.worker", "mamori.work").
        "django.tasks": {"level": "WARNING"},
        # The same with MAMORI_TASK_BACKEND=rq: django-tasks-rq's signals and RQ's lines per job.
        "django_tasks": {"level": "WARNING"},
        "rq": {"level": "WARNING"},
    },
}
