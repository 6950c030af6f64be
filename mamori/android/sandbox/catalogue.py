"""The virtual devices' hardware: a small catalogue of real Android models sold in Japan.

Each model gives the ``hardwareInfo``, ``softwareInfo``, ``memoryInfo`` and ``displays`` facts of
AMAPI's Device resource (ANDROID.md 2.3), a serial-number pattern and an IMEI TAC (the 8 digits
that name a model; the rest of an IMEI is random, with its Luhn check digit). Figures are the
makers' published specifications; serials and IMEIs are made up.

``CATALOGUE`` is what enrollment takes turns over; ``LEGACY`` models (an Android 6.0 phone, API
23) are enrolled only when named (``--model``), to see commands refused with API_LEVEL.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

GIB = 1024**3


@dataclass(frozen=True)
class Model:
    """One phone model: what AMAPI reports about its hardware and software."""

    key: str
    brand: str
    manufacturer: str
    model: str
    hardware: str
    android_version: str
    api_level: int
    security_patch: str  # YYYY-MM-DD
    build_number: str
    ram_bytes: int
    storage_bytes: int
    width: int
    height: int
    density: int
    refresh_rate: int
    serial_prefix: str
    serial_length: int
    tac: str
    carrier: str


CATALOGUE = (
    Model("pixel-8", "google", "Google", "Pixel 8", "shiba", "15", 35, "2026-01-05",
          "BP1A.250505.005", 8 * GIB, 128 * GIB, 1080, 2400, 420, 120, "3A", 14, "35680874",
          "NTT DOCOMO"),
    Model("pixel-7a", "google", "Google", "Pixel 7a", "lynx", "14", 34, "2025-11-05",
          "AP2A.240905.003", 8 * GIB, 128 * GIB, 1080, 2400, 420, 90, "3B", 14, "35119978",
          "SoftBank"),
    Model("galaxy-s24", "samsung", "samsung", "SC-51E", "s5e9945", "15", 35, "2025-12-01",
          "AP3A.240905.015.A2", 8 * GIB, 256 * GIB, 1080, 2340, 416, 120, "R5CX", 11,
          "35046429", "NTT DOCOMO"),
    Model("aquos-sense8", "SHARP", "SHARP", "SH-54D", "qcom", "14", 34, "2025-10-01",
          "S1234", 6 * GIB, 128 * GIB, 1080, 2432, 440, 90, "", 15, "35362712", "au"),
    Model("xperia-10-v", "Sony", "Sony", "XQ-DC44", "qcom", "14", 34, "2025-09-01",
          "68.2.A.2.89", 6 * GIB, 128 * GIB, 1080, 2520, 450, 60, "QV7", 10, "35315212",
          "Rakuten"),
    Model("torque-g06", "KYOCERA", "KYOCERA", "KYG03", "qcom", "13", 33, "2025-08-01",
          "1.030KC.0100.a", 6 * GIB, 128 * GIB, 1080, 2400, 400, 60, "", 15, "35862611", "au"),
)  # fmt: skip
LEGACY = (
    Model("aquos-ever", "SHARP", "SHARP", "SH-02J", "qcom", "6.0", 23, "2018-01-01",
          "S4180", 2 * GIB, 16 * GIB, 720, 1280, 320, 60, "", 15, "35403507", "NTT DOCOMO"),
)  # fmt: skip


def model_find(name: str) -> Model | None:
    """The model whose key or model name is ``name`` (any case), or None."""
    wanted = name.strip().lower()
    for model in CATALOGUE + LEGACY:
        if wanted in (model.key, model.model.lower(), f"{model.brand} {model.model}".lower()):
            return model
    return None


def model_names() -> list[str]:
    """The catalogue's keys, for ``--model`` help and its error message."""
    return [model.key for model in CATALOGUE + LEGACY]


def model_get(key: str) -> Model:
    """The model of a stored key (the catalogue never shrinks); the first for an unknown key."""
    return model_find(key) or CATALOGUE[0]


def serial_new(model: Model) -> str:
    """A serial number in the model's pattern (capitals and digits)."""
    alphabet = string.ascii_uppercase + string.digits
    if not model.serial_prefix:  # Japanese makers print a number
        alphabet = string.digits
    tail = model.serial_length - len(model.serial_prefix)
    return model.serial_prefix + "".join(secrets.choice(alphabet) for _ in range(tail))


def imei_new(model: Model) -> str:
    """A 15-digit IMEI: the model's TAC, 6 random digits, the Luhn check digit."""
    body = model.tac + "".join(secrets.choice(string.digits) for _ in range(6))
    total = 0
    for index, char in enumerate(body):
        digit = int(char) * (2 if index % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return body + str((10 - total % 10) % 10)


def mac_new() -> str:
    """A random, locally administered Wi-Fi MAC address (Android randomizes them too)."""
    octets = [secrets.randbelow(256) for _ in range(6)]
    octets[0] = (octets[0] & 0xFC) | 0x02
    return ":".join(f"{octet:02x}" for octet in octets)
