"""Every AMAPI code the device page shows has words, in English and in Japanese: the values are
read from the discovery document shipped in google-api-python-client, so a newer document with
a new value fails here until it is translated."""

from __future__ import annotations

import pytest
from django.utils import translation

from mamori.android.amapi.client import discovery_document
from mamori.android.inventory.reasons import SOURCES, TABLES, reason_text


def enum_values(schema: str, field: str) -> list[str]:
    return discovery_document()["schemas"][schema]["properties"][field]["enum"]


@pytest.mark.parametrize("table", sorted(SOURCES))
def test_every_value_of_the_discovery_document_has_a_sentence(table: str) -> None:
    values = enum_values(*SOURCES[table])
    assert values, table
    assert sorted(values) == sorted(TABLES[table])


@pytest.mark.parametrize("table", sorted(SOURCES))
def test_every_sentence_is_translated_to_japanese(table: str) -> None:
    with translation.override("ja"):
        for code in TABLES[table]:
            text = reason_text(table, code)
            assert text and text != code
            english = str(TABLES[table][code])
            with translation.override("en"):
                english = reason_text(table, code)
            assert text != english, (table, code, text)


def test_the_three_reason_enums_the_issue_names_are_complete() -> None:
    assert len(enum_values("NonComplianceDetail", "nonComplianceReason")) == 15
    assert len(enum_values("NonComplianceDetail", "specificNonComplianceReason")) == 16
    assert len(enum_values("NonComplianceDetail", "installationFailureReason")) == 13


def test_an_unknown_code_is_shown_as_it_is() -> None:
    assert reason_text("non_compliance", "SOMETHING_NEW") == "SOMETHING_NEW"
    assert reason_text("non_compliance", "") == ""
