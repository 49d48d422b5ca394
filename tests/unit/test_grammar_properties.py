"""Property tests of the reference grammar."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

import secretinj_runtime as sir
from secretinj_runtime import ConnectionReference, KeyVaultReference, Status

NAME_START = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
connection_names = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(NAME_START),
    st.text(alphabet=NAME_START + "_-", min_size=2, max_size=32),
)
field_keys = st.text(alphabet=NAME_START + "_-.", min_size=1, max_size=20)
vaults = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=3, max_size=24)
secrets = st.text(alphabet=NAME_START + "-", min_size=1, max_size=127)
versions = st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)

references = st.one_of(
    st.builds(ConnectionReference, connection_names),
    st.builds(lambda n: ConnectionReference(n, "target"), connection_names),
    st.builds(
        ConnectionReference,
        connection_names,
        st.sampled_from(["credentials", "metadata"]),
        field_keys,
    ),
    st.builds(
        lambda v, s, ver: KeyVaultReference(f"{v}.vault.azure.net", s, ver),
        vaults,
        secrets,
        st.none() | versions,
    ),
)


@given(references)
def test_format_then_parse_round_trips(ref: ConnectionReference | KeyVaultReference) -> None:
    text = str(ref)
    assert sir.is_reference(text)
    parsed = sir.parse_reference(text)
    assert parsed == ref
    assert str(parsed) == text


@given(st.text(max_size=60), st.text(max_size=60).filter(lambda t: "HIDDEN" not in t))
def test_anything_with_the_opening_is_a_reference_or_invalid_never_present(
    before: str, after: str
) -> None:
    value = f"HIDDEN{before}${{{{{after}"
    assert sir.is_reference(value)
    report = sir.resolve_environment(["V"], environ={"V": value}, required=False)
    status = report.variables["V"]
    assert status.status is Status.INVALID_SYNTAX, "text before the reference: never valid"
    assert "HIDDEN" not in (status.reference or ""), "the text around it is never shown"
    assert "HIDDEN" not in (status.error or "")


@given(st.text(max_size=80).filter(lambda v: "${{" not in v))
def test_values_without_the_opening_are_literals(value: str) -> None:
    assert not sir.is_reference(value)


def test_a_password_around_a_bad_reference_is_never_echoed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    value = "postgresql://app:Hunter2-secret@db/app?sslpassword=${{keyvault:not a url}}"
    with caplog.at_level(logging.DEBUG), pytest.raises(sir.SecretResolutionError) as info:
        sir.resolve_environment(["DATABASE_URL"], environ={"DATABASE_URL": value})
    report = info.value.report
    assert report.variables["DATABASE_URL"].status is Status.INVALID_SYNTAX
    assert report.variables["DATABASE_URL"].reference == "${{keyvault:not a url}}"
    for text in (str(info.value), caplog.text, json.dumps(report.to_dict()), str(report)):
        assert "Hunter2" not in text
        assert "postgresql" not in text
