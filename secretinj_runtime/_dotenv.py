r"""Read the dotenv files of ``secretinj run --env-file``, as python-dotenv and Docker do.

Accepted: ``KEY=VALUE`` lines, ``export KEY=VALUE``, blank lines and ``#`` comments, a UTF-8
byte order mark, CRLF line ends, a bare ``KEY`` (the variable comes from the environment, as
with ``docker --env-file``), and quoted values that may span several lines:

* unquoted: stripped, ending at `` #`` (a comment);
* ``'single'``: literal, except ``\'`` and ``\\``;
* ``"double"``: ``\n \r \t \v \f \b \a \" \' \\`` are escapes, any other ``\x`` is kept.

Not supported, each with its own error: quoted names and text after a closing quote.
``$VAR`` and ``${VAR}`` are not interpolated (``${{...}}`` references pass through as they
are). Docker keeps quotes as part of the value; like python-dotenv and Compose, this removes
them. Errors name the file and line, never the line's text (it may hold a secret).
"""

from __future__ import annotations

import re

_KEY = re.compile(r"[^\s=#'\"\\]+")
_EXPORT = re.compile(r"export[ \t]+")
_BLANK = re.compile(r"[ \t]*")
_LINE_END = re.compile(r"\r\n|\n|\r")
_COMMENT = re.compile(r"[ \t]*(?:#[^\r\n]*)?")
_INLINE_COMMENT = re.compile(r"\s#")
_DOUBLE_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "f": "\f",
    "b": "\b",
    "a": "\a",
    '"': '"',
    "'": "'",
    "\\": "\\",
}

#: ``(name, value, line)``: one assignment and the 1-based line it starts on.
Assignment = tuple[str, str, int]


class EnvFileError(Exception):
    """A dotenv file cannot be read or parsed; the message names the file and line only."""


def read_env_file(path: str) -> list[Assignment]:
    """Return the assignments of dotenv file ``path`` in file order (bare names skipped)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise EnvFileError(f"{path}: cannot read: not UTF-8 text") from None
    except OSError as ex:
        raise EnvFileError(f"{path}: cannot read: {ex.strerror or ex}") from None
    return _Parser(path, text).assignments()


def parse_env_file(path: str) -> dict[str, str]:
    """Return the variables of dotenv file ``path`` (a later line wins)."""
    return {name: value for name, value, _ in read_env_file(path)}


class _Parser:
    def __init__(self, path: str, text: str) -> None:
        self.path, self.text, self.pos, self.line = path, text, 0, 1

    def error(self, message: str, line: int | None = None) -> EnvFileError:
        return EnvFileError(f"{self.path}:{line or self.line}: {message}")

    def match(self, pattern: re.Pattern[str]) -> str | None:
        found = pattern.match(self.text, self.pos)
        if found is None:
            return None
        self.pos = found.end()
        return found.group()

    def assignments(self) -> list[Assignment]:
        out: list[Assignment] = []
        while self.pos < len(self.text):
            self.match(_BLANK)
            start = self.line
            if self.at_line_end() or self.text.startswith("#", self.pos):
                self.end_of_line("")
                continue
            self.match(_EXPORT)
            name = self.match(_KEY)
            if name is None:
                if self.text[self.pos] in "'\"":
                    raise self.error("quoted variable names are not supported")
                raise self.error("expected KEY=VALUE")
            self.match(_BLANK)
            if self.at_line_end() or self.text.startswith("#", self.pos):
                self.end_of_line("")
                continue  # a bare KEY: the environment, which overrides the file anyway
            if not self.text.startswith("=", self.pos):
                raise self.error("expected KEY=VALUE")
            self.pos += 1
            self.match(_BLANK)
            value = self.value(start)
            out.append((name, value, start))
        return out

    def at_line_end(self) -> bool:
        return self.pos >= len(self.text) or self.text[self.pos] in "\r\n"

    def end_of_line(self, what: str) -> None:
        """Consume spaces, a ``#`` comment and the line end; anything else is an error."""
        self.match(_COMMENT)
        if self.pos < len(self.text) and self.match(_LINE_END) is None:
            raise self.error(f"unexpected text after {what or 'the value'}")
        self.line += 1

    def value(self, start: int) -> str:
        quote = self.text[self.pos] if self.pos < len(self.text) else ""
        if quote not in ("'", '"'):
            end = _LINE_END.search(self.text, self.pos)
            raw = self.text[self.pos : end.start() if end else len(self.text)]
            self.pos += len(raw)
            comment = _INLINE_COMMENT.search(raw)
            self.end_of_line("")
            return (raw[: comment.start()] if comment else raw).strip()
        out: list[str] = []
        i = self.pos + 1
        while i < len(self.text):
            ch = self.text[i]
            if ch == quote:
                self.line += len(_LINE_END.findall(self.text, self.pos, i))
                self.pos = i + 1
                self.end_of_line("the closing quote")
                return "".join(out)
            if ch == "\\" and i + 1 < len(self.text):
                nxt = self.text[i + 1]
                if quote == '"' and nxt in _DOUBLE_ESCAPES:
                    out.append(_DOUBLE_ESCAPES[nxt])
                    i += 2
                    continue
                if quote == "'" and nxt in "'\\":
                    out.append(nxt)
                    i += 2
                    continue
            out.append(ch)
            i += 1
        raise self.error("unterminated quote (the value starts on this line)", start)
