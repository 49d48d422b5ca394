"""dotenv files for ``secretinj run --env-file``: what python-dotenv and Docker accept."""

from __future__ import annotations

from pathlib import Path

import pytest

from secretinj_runtime._dotenv import EnvFileError, parse_env_file, read_env_file


def write(tmp_path: Path, data: str | bytes) -> str:
    path = tmp_path / "app.env"
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, newline="")
    return str(path)


def test_a_utf8_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffFIRST=1\nSECOND=2\n".encode())
    assert parse_env_file(path) == {"FIRST": "1", "SECOND": "2"}


def test_quoted_values_may_span_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'CERT="-----BEGIN CERTIFICATE-----\n'
        "MIIB\\tx\n"
        '-----END CERTIFICATE-----"\n'
        "SINGLE='line one\r\n"
        "line two'  # a comment\r\n"
        "AFTER=3\n",
    )
    assert read_env_file(path) == [
        ("CERT", "-----BEGIN CERTIFICATE-----\nMIIB\tx\n-----END CERTIFICATE-----", 1),
        ("SINGLE", "line one\r\nline two", 4),
        ("AFTER", "3", 6),
    ]


def test_escapes_as_python_dotenv(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        r"""D="a\"b\'c\\d\ne\tf\$g\x"
S='it\'s \\ \n kept'
U=plain \n "quotes" kept # comment
""",
    )
    assert parse_env_file(path) == {
        "D": "a\"b'c\\d\ne\tf\\$g\\x",
        "S": "it's \\ \\n kept",
        "U": 'plain \\n "quotes" kept',
    }


def test_bare_names_comments_and_export(tmp_path: Path) -> None:
    """A bare name takes its value from the environment (Docker), which wins anyway."""
    path = write(
        tmp_path,
        "# comment\n"
        "   \n"
        "FROM_ENV\n"
        "export ALSO_FROM_ENV  # comment\n"
        "export  KEY = value  \n"
        "EMPTY=\n"
        "HASH=a#b\n"
        "path.with-dots=1\n"
        "LAST=no newline at the end",
    )
    assert read_env_file(path) == [
        ("KEY", "value", 5),
        ("EMPTY", "", 6),
        ("HASH", "a#b", 7),
        ("path.with-dots", "1", 8),
        ("LAST", "no newline at the end", 9),
    ]


def test_references_pass_through(tmp_path: Path) -> None:
    ref = "${{azureml://connections/aoai-conn/credentials/key}}"
    path = write(tmp_path, f"A={ref}\nB='{ref}'\nC=\"{ref}\"\nD=${{HOME}}\n")
    assert parse_env_file(path) == {"A": ref, "B": ref, "C": ref, "D": "${HOME}"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("OK=1\nthis line holds hunter2\n", ":2: expected KEY=VALUE"),
        ("A=1\nKEY='unterminated hunter2\nB=2\n", ":2: unterminated quote"),
        ('KEY="a"hunter2\n', ":1: unexpected text after the closing quote"),
        ("\n\nKEY='a\nb'  hunter2\n", ":4: unexpected text after the closing quote"),
        ("'QUOTED'=hunter2\n", ":1: quoted variable names are not supported"),
        ("=hunter2\n", ":1: expected KEY=VALUE"),
    ],
)
def test_errors_name_the_line_never_its_text(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(EnvFileError) as raised:
        parse_env_file(path)
    assert str(raised.value).startswith(path + message)
    assert "hunter2" not in str(raised.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(EnvFileError, match=r"app.env: cannot read: not UTF-8 text"):
        parse_env_file(write(tmp_path, b"A=\xff\n"))
    with pytest.raises(EnvFileError, match=r"nope.env: cannot read: No such file"):
        parse_env_file(str(tmp_path / "nope.env"))
