"""Mamori's one settings module: every deployment choice comes from the environment.

With no environment at all it runs on SQLite under ``var/`` and writes mail to ``var/mail/``,
which is what ``make run`` uses. See ``.env.example`` for every variable.
"""

import os
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("MAMORI_VAR_DIR", BASE_DIR.parent / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_from_url(url: str) -> dict[str, object]:
    """Turn ``sqlite:///path`` or ``postgres://user:pw@host:port/name`` into Django's dict."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        # sqlite:///relative.db and sqlite:////absolute.db, as dj-database-url reads them
        name = path[1:] if path.startswith("/") else path
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name or ":memory:",
            # IMMEDIATE makes a writer take the lock at BEGIN, so the operation log's hash
            # chain cannot be read by two writers at once (SQLite has no SELECT FOR UPDATE).
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
            # Tests use a file too: an in-memory database shared between threads has table
            # locks that a real SQLite deployment never sees.
            # One file per test process, so concurrent runs never share it.
            "TEST": {
                "NAME": str(Path(tempfile.gettempdir()) / f"mamori-test-{os.getpid()}.sqlite3")
            },
        }
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        # JIT compiles plans for big scans (the CSV export) and costs more than it saves on
        # the short indexed queries the panel makes.
        options.setdefault("options", "-c jit=off")
        name = unquote(parts.path.lstrip("/"))
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": int(os.environ.get("MAMORI_CONN_MAX_AGE", "60")),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
            # Two suites on one machine must not share the test database.
            "TEST": {"NAME": os.environ.get("MAMORI_TEST_DB_NAME") or f"test_{name}"},
        }
    raise ValueError(f"DATABASE_URL scheme {parts.scheme!r} is not supported")


def mailer_from_url(url: str) -> dict[str, object]:
    """Turn ``EMAIL_URL`` into the default entry of Django's ``MAILERS``.

    ``smtp://user:pw@host:port`` (``smtps://`` for implicit TLS, ``?tls=1`` for STARTTLS),
    ``file:///path`` writes each message to a file, ``console://`` prints it.
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
        return {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": unquote(parts.path) or str(VAR_DIR / "mail")},
        }
    if parts.scheme == "console":
        return {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    raise ValueError(f"EMAIL_URL scheme {parts.scheme!r} is not supported")


DEBUG = env_bool("MAMORI_DEBUG")


def secret_key() -> str:
    """MAMORI_SECRET_KEY, or a key made once and kept in var/ (one machine, development)."""
    key = os.environ.get("MAMORI_SECRET_KEY", "")
    if key:
        return key
    path = VAR_DIR / "secret-key"
    if not path.exists():
        import secrets

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = secret_key()
ALLOWED_HOSTS = [
    h for h in os.environ.get("MAMORI_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("MAMORI_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]
MAMORI_BASE_URL = os.environ.get("MAMORI_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
MAMORI_MAIL_FROM = os.environ.get("MAMORI_MAIL_FROM", "Mamori <no-reply@mamori.invalid>")
DEFAULT_FROM_EMAIL = MAMORI_MAIL_FROM
# Where support inquiries from support-option accounts are mailed: the service's support desk.
MAMORI_SUPPORT_EMAIL = os.environ.get("MAMORI_SUPPORT_EMAIL", "support@mamori.invalid")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "mamori.core",
    "mamori.contracts",
    "mamori.directory",
    "mamori.accounts",
    "mamori.audit",
    "mamori.outbox",
    "mamori.support",
    "mamori.panel",
]

MIDDLEWARE = [
    "mamori.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "mamori.core.middleware.ContractMiddleware",
    "mamori.core.middleware.SessionIdleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mamori.urls"
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
                "mamori.core.context_processors.panel",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'mamori.sqlite3'}")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.Account"
AUTHENTICATION_BACKENDS = ["mamori.accounts.backends.ContractAccountBackend"]
# Account names are unique within a contract, not across the deployment (auth.W004).
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
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
SESSION_COOKIE_AGE = int(os.environ.get("MAMORI_SESSION_IDLE_MINUTES", "30")) * 60
# SessionIdleMiddleware moves the expiry forward as the person works: an idle timeout.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = MAMORI_BASE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_NAME = "mamori_session"
LANGUAGE_COOKIE_NAME = "mamori_language"

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

TASKS = {
    "default": {
        "BACKEND": os.environ.get("MAMORI_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

EMAIL_URL = os.environ.get("EMAIL_URL", f"file://{VAR_DIR / 'mail'}")
MAILERS = {"default": mailer_from_url(EMAIL_URL)}

# Mail delivery retries: first retry after MAIL_RETRY_BASE seconds, doubling up to MAIL_RETRY_MAX.
MAMORI_MAIL_RETRY_BASE_SECONDS = float(os.environ.get("MAMORI_MAIL_RETRY_BASE_SECONDS", "15"))
MAMORI_MAIL_RETRY_MAX_SECONDS = float(os.environ.get("MAMORI_MAIL_RETRY_MAX_SECONDS", "600"))

# Login throttling: failures per account name, and per IP address, within the window.
MAMORI_LOGIN_MAX_FAILURES = int(os.environ.get("MAMORI_LOGIN_MAX_FAILURES", "5"))
MAMORI_LOGIN_WINDOW_SECONDS = int(os.environ.get("MAMORI_LOGIN_WINDOW_SECONDS", "900"))
MAMORI_LOGIN_LOCK_SECONDS = int(os.environ.get("MAMORI_LOGIN_LOCK_SECONDS", "900"))
MAMORI_LOGIN_MAX_FAILURES_PER_IP = int(os.environ.get("MAMORI_LOGIN_MAX_FAILURES_PER_IP", "50"))
# Behind a load balancer, the number of proxies whose X-Forwarded-For entries are trusted.
MAMORI_TRUSTED_PROXIES = int(os.environ.get("MAMORI_TRUSTED_PROXIES", "0"))

LOG_PAGE_SIZE = 50

# Operation-log integrity (mamori/audit/keys.py): HMAC keys "id:secret,…" (the first signs), or a
# file holding them; without either only a debug run works (it keeps a key in var/audit-key).
MAMORI_AUDIT_KEY = os.environ.get("MAMORI_AUDIT_KEY", "")
MAMORI_AUDIT_KEY_FILE = os.environ.get("MAMORI_AUDIT_KEY_FILE", "")
MAMORI_AUDIT_CHECKPOINT_FILE = os.environ.get("MAMORI_AUDIT_CHECKPOINT_FILE", "") or str(
    VAR_DIR / "audit-checkpoints.jsonl"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("MAMORI_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # db_worker adds a handler of its own; don't print its lines twice.
        "django_tasks_db": {"propagate": False},
    },
}
