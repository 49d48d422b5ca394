from __future__ import annotations

import pytest

import secretinj_runtime as sir
from secretinj_runtime import ConnectionReference, KeyVaultReference, ReferenceSyntaxError

VERSION = "4387e9f3d6e14c459867679a90fd0f79"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${{azureml://connections/aoai}}", ConnectionReference("aoai")),
        ("${{azureml://connections/aoai/target}}", ConnectionReference("aoai", "target")),
        (
            "${{azureml://connections/aoai/credentials/key}}",
            ConnectionReference("aoai", "credentials", "key"),
        ),
        (
            "${{azureml://connections/multi_conn-1/metadata/OPENAI_API_VERSION}}",
            ConnectionReference("multi_conn-1", "metadata", "OPENAI_API_VERSION"),
        ),
        (
            f"${{{{keyvault:https://mykv.vault.azure.net/secrets/db-pass/{VERSION}}}}}",
            KeyVaultReference("mykv.vault.azure.net", "db-pass", VERSION),
        ),
        (
            "${{keyvault:https://mykv.vault.azure.net/secrets/db-pass}}",
            KeyVaultReference("mykv.vault.azure.net", "db-pass", None),
        ),
        ("  ${{azureml://connections/aoai/target}}\n", ConnectionReference("aoai", "target")),
    ],
)
def test_parses_every_form(text: str, expected: object) -> None:
    assert sir.parse_reference(text) == expected
    assert sir.is_reference(text)


@pytest.mark.parametrize(
    "text",
    [
        "${{azureml://connections/aoai/credentials/key}}",
        "${{azureml://connections/aoai}}",
        f"${{{{keyvault:https://mykv.vault.azure.net/secrets/db-pass/{VERSION}}}}}",
    ],
)
def test_format_round_trips(text: str) -> None:
    assert str(sir.parse_reference(text)) == text


def test_identity_is_case_insensitive_for_grouping() -> None:
    a = sir.parse_reference("${{azureml://connections/AOAI/credentials/key}}")
    b = sir.parse_reference("${{azureml://connections/aoai/target}}")
    assert a.group_key == b.group_key
    kv1 = sir.parse_reference("${{keyvault:https://KV1.vault.azure.net/secrets/Pass}}")
    kv2 = sir.parse_reference("${{keyvault:https://kv1.vault.azure.net/secrets/pass}}")
    assert kv1 == kv2
    assert hash(kv1) == hash(kv2)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("${{azureml://connections/ab}}", "connection name 'ab' is invalid"),
        ("${{azureml://connections/-bad-name}}", "is invalid"),
        ("${{azureml://connections/aoai/credentials}}", "unexpected path '/credentials'"),
        ("${{azureml://connections/aoai/credentials/}}", "remove the trailing slash"),
        ("${{azureml://connections/aoai/credentials/ }}", "remove the trailing slash"),
        ("${{azureml://connections/aoai/secrets/key}}", "expected nothing, '/target'"),
        ("${{azureml://connections/aoai/target/x}}", "unexpected path"),
        ("${{azureml://workspaces/aoai}}", "unknown reference kind"),
        ("${{keyvault:http://kv.vault.azure.net/secrets/a}}", "must be an https:// URL"),
        ("${{keyvault:https://kv.vault.azure.net:8443/secrets/a}}", "no port"),
        ("${{keyvault:https://kv.vault.azure.net/keys/a}}", "'https://<vault host>/secrets/<name>"),
        ("${{keyvault:https://kv.vault.azure.net/secrets/a_b}}", "secret name 'a_b' is invalid"),
        ("${{keyvault:https://kv.vault.azure.net/secrets/a/notahexversion}}", "32 hexadecimal"),
        ("${{keyvault:https://kv.vault.azure.net/secrets/a/}}", "remove the trailing slash"),
        ("${{keyvault:https://kv.vault.azure.net/secrets/a", "the closing '}}' is missing"),
        ("${{azureml://connections/aoai/target}} tail", "text after the closing '}}'"),
        ("${{azureml://connections/a1}}${{azureml://connections/b2}}", "text after"),
        ("${{KeyVault:https://v.vault.azure.net/secrets/a}}", "differs only in case"),
        ("${{AzureML://connections/aoai}}", "differs only in case"),
        ("Bearer ${{KeyVault:https://v.vault.azure.net/secrets/a}}", "the whole value"),
        ("x ${{ anything at all", "the whole value"),
        ("${{}}", "unknown reference kind"),
        ("${{ secrets.OPENAI_KEY }}", "unknown reference kind"),
        ("Bearer ${{azureml://connections/aoai/credentials/key}}", "the whole value"),
    ],
)
def test_malformed_references_say_what_is_wrong(text: str, fragment: str) -> None:
    assert sir.is_reference(text), "a would-be reference must never pass as a literal"
    with pytest.raises(ReferenceSyntaxError) as info:
        sir.parse_reference(text)
    assert fragment in str(info.value)
    assert info.value.status is sir.Status.INVALID_SYNTAX
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "text",
    ["plain-value", "", "https://aoai.example.com/", "{{not}}", "$notatemplate", "a}}b"],
)
def test_literals_are_not_references(text: str) -> None:
    assert not sir.is_reference(text)


def test_non_strings_are_not_references() -> None:
    assert not sir.is_reference(None)
    assert not sir.is_reference(42)
    with pytest.raises(ReferenceSyntaxError, match="must be a string"):
        sir.parse_reference(42)  # type: ignore[arg-type]


def test_keyvault_reference_parts() -> None:
    ref = sir.parse_reference("${{keyvault:https://prod-kv.vault.azure.net/secrets/pw}}")
    assert isinstance(ref, KeyVaultReference)
    assert ref.vault_name == "prod-kv"
    assert ref.vault_url == "https://prod-kv.vault.azure.net"
    assert (
        repr(ref) == "KeyVaultReference('${{keyvault:https://prod-kv.vault.azure.net/secrets/pw}}')"
    )


def test_long_garbage_is_shortened_in_the_error() -> None:
    text = "${{" + "x" * 5000 + "}}"
    with pytest.raises(ReferenceSyntaxError) as info:
        sir.parse_reference(text)
    assert len(str(info.value)) < 400


def test_an_invalid_value_is_never_echoed_beyond_its_reference() -> None:
    password = "Hunter2-very-secret"
    value = f"postgresql://app:{password}@db/app?sslpassword=${{{{keyvault:not a url}}}}&x=1"
    assert sir.is_reference(value)
    with pytest.raises(ReferenceSyntaxError) as info:
        sir.parse_reference(value)
    assert password not in str(info.value)
    assert password not in repr(info.value)
    assert info.value.reference == "${{keyvault:not a url}}"
    assert "postgresql" not in str(info.value)


@pytest.mark.parametrize(
    ("value", "excerpt"),
    [
        ("pre ${{azureml://connections/a}} post", "${{azureml://connections/a}}"),
        ("pre ${{keyvault:https://x", "${{keyvault:https://x"),
        ("${{a\nb}}", "${{a b}}"),
        ("no reference", "(no '${{')"),
    ],
)
def test_reference_excerpt(value: str, excerpt: str) -> None:
    from secretinj_runtime.references import reference_excerpt

    assert reference_excerpt(value) == excerpt
