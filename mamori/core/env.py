"""Reading settings from the environment, failing loudly.

``mamori/settings.py`` reads every variable through these helpers. A value that cannot be read
(a boolean that is not one of the accepted spellings, an int that is not an int, a secret given
twice, a ``*_FILE`` that cannot be read) raises ``ImproperlyConfigured`` naming the variable, so
a typo stops the process at start instead of quietly choosing a default.

Parsing is done by environs (marshmallow's fields). The messages are plain English: they are
raised while the settings load, before translations can be.

Before anything is read, ``env_file_read`` loads a ``.env`` file (the one ``make run`` writes)
into the environment, so ``mamori``, the worker and the WSGI application share one configuration;
a variable set in the real environment wins over the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv
from environs import Env, EnvValidationError
from environs import validate as _validate

# The spellings marshmallow's Boolean field accepts (any case of these words).
BOOLEAN_SPELLINGS = "1/0, true/false, yes/no, on/off, t/f, y/n"

_env = Env(eager=True)


def _parse(kind: str, name: str, default: Any, hint: str = "", **kwargs: Any) -> Any:
    try:
        return getattr(_env, kind)(name, default, **kwargs)
    except EnvValidationError as exc:
        problem = " ".join(str(message) for message in exc.error_messages)
        # The chained environs traceback says nothing the message does not.
        raise ImproperlyConfigured(
            f"{name}={os.environ.get(name, '')!r} is not valid: {problem}{hint}"
        ) from None


ENV_FILE_VARIABLE = "MAMORI_ENV_FILE"


def env_file_read() -> Path | None:
    """Load a ``.env`` file into ``os.environ``; a variable already set there wins over the file.

    The file is the one ``MAMORI_ENV_FILE`` names, or ``.env`` in the current directory when
    that variable is not set (never a parent directory's: where a process starts says which
    file applies). ``MAMORI_ENV_FILE=`` (empty) reads none, as the tests do. The syntax is
    python-dotenv's (``NAME=value`` lines, ``#`` comments; no ``${…}`` expansion).

    Returns the path read, or ``None``. A missing ``.env`` is no error; a ``MAMORI_ENV_FILE``
    that cannot be read raises ``ImproperlyConfigured``.
    """
    named = os.environ.get(ENV_FILE_VARIABLE)
    if named == "":
        return None
    path = Path(named) if named else Path(".env")
    if not path.is_file():
        if named:
            raise ImproperlyConfigured(
                f"{ENV_FILE_VARIABLE}={named!r} is not a readable file: name a .env file, "
                "or set it empty to read none."
            )
        return None
    try:
        # Into os.environ (environs' read_env keeps values to itself), so every helper here and
        # every process started from this one see them. Values are literal: a "$" in a password
        # is not expanded.
        load_dotenv(path, override=False, interpolate=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImproperlyConfigured(f"{path} cannot be read as a .env file ({exc}).") from None
    return path.resolve()


def env_str(name: str, default: str) -> str:
    """The variable ``name`` as a string, or ``default`` when it is not set."""
    return str(_parse("str", name, default))


def env_bool(name: str, default: bool = False) -> bool:
    """The variable ``name`` as a boolean, or ``default`` when it is not set.

    Raises ``ImproperlyConfigured`` for any value that is not an accepted spelling
    (``BOOLEAN_SPELLINGS``), an empty value included: ``MAMORI_DEBUG=ture`` is an error, not
    false.
    """
    return bool(_parse("bool", name, default, f" Use one of {BOOLEAN_SPELLINGS}."))


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """The variable ``name`` as an int (at least ``minimum``), or ``default`` when it is not set.

    Raises ``ImproperlyConfigured`` for a value that is not a whole number or is too small.
    """
    check = _validate.Range(min=minimum) if minimum is not None else None
    return int(_parse("int", name, default, validate=check))


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    """The variable ``name`` as a float (at least ``minimum``), or ``default`` when it is not set.

    Raises ``ImproperlyConfigured`` for a value that is not a number or is too small.
    """
    check = _validate.Range(min=minimum) if minimum is not None else None
    return float(_parse("float", name, default, validate=check))


def env_list(name: str, default: list[str]) -> list[str]:
    """The variable ``name`` as a comma-separated list (blank items dropped), or ``default``."""
    if name not in os.environ:
        return list(default)
    return [item.strip() for item in env_str(name, "").split(",") if item.strip()]


def env_log_level(name: str, default: str) -> int | str:
    """The variable ``name`` as a logging level (a name such as ``INFO``, or a number)."""
    level: int | str = _parse("log_level", name, default)
    return level


def env_secret(name: str) -> str:
    """A secret from the variable ``name``, or from the file named by ``{name}_FILE``.

    Returns ``""`` when neither is set. The file is read as UTF-8 with its trailing line
    break(s) removed, so ``echo key > file`` and Docker or systemd credentials work as they
    are. Setting both variables, or a ``_FILE`` that cannot be read, raises
    ``ImproperlyConfigured`` naming the variable; the secret itself never appears in a message.
    """
    file_name = f"{name}_FILE"
    if name in os.environ and file_name in os.environ:
        raise ImproperlyConfigured(
            f"Both {name} and {file_name} are set: set only one of them "
            f"({file_name} names a file that holds the value)."
        )
    if file_name not in os.environ:
        return os.environ.get(name, "")
    path = os.environ[file_name]
    if not path:
        raise ImproperlyConfigured(f"{file_name} is set but empty: it must name a file.")
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ImproperlyConfigured(
            f"{file_name}={path!r} cannot be read ({reason}): it must name a readable file "
            f"that holds the value of {name}."
        ) from None
