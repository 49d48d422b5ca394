"""Lint the secret references of Azure ML deployment YAML files (pure, no network).

`lint_file` finds every ``environment_variables`` mapping in a YAML file (the top-level one
of a CLI v2 deployment file, or one nested anywhere, in any document of the file) and checks
the value that wins for each name the way the runtime would read it (`check_value`: the
reference grammar, connection and secret names, versions, that a Key Vault host is a vault
of a known cloud) and that the environment can hold it (`environ_problem`). It also warns
about secret references in other fields, which the platform leaves as they are. Reading the
files is `deployment_yaml`'s job (PyYAML, imported lazily).
"""

from __future__ import annotations

import re

from ._valuecheck import CLOUD_VARIABLE, ERROR, WARNING, check_value, environ_problem
from .clouds import Cloud, get_cloud
from .deployment_yaml import (
    ENV_KEY,
    MERGE_TAG,
    TAG,
    Entry,
    MergeExpander,
    compose_file,
    environment_mappings,
    is_str,
    line_of,
    winners,
)
from .errors import SecretInjectionError
from .references import is_reference

TYPE_CHECKING = False
if TYPE_CHECKING:
    from yaml.nodes import Node

__all__ = [
    "CLOUD_VARIABLE",
    "ERROR",
    "WARNING",
    "Finding",
    "LintResult",
    "check_value",
    "environ_problem",
    "lint_file",
    "outside_references",
    "summary_line",
]

_PORTABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECRET_REFERENCE = re.compile(r"\$\{\{\s*(?:azureml://connections/|keyvault:)", re.IGNORECASE)


class Finding:
    """One lint message: ``file:line: level: VARIABLE: message``."""

    __slots__ = ("file", "level", "line", "message", "variable")

    def __init__(
        self, file: str, line: int, level: str, variable: str | None, message: str
    ) -> None:
        self.file = file
        self.line = line
        self.level = level
        self.variable = variable
        self.message = message

    def __str__(self) -> str:
        where = f"{self.variable}: " if self.variable is not None else ""
        return f"{self.file}:{self.line}: {self.level}: {where}{self.message}"

    def __repr__(self) -> str:
        return f"Finding({str(self)!r})"


class LintResult:
    """The findings of one file and how many references it holds."""

    __slots__ = ("findings", "references")

    def __init__(self, findings: list[Finding], references: int) -> None:
        self.findings = findings
        self.references = references

    @property
    def errors(self) -> int:
        """How many findings are errors."""
        return sum(f.level == ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        """How many findings are warnings."""
        return sum(f.level == WARNING for f in self.findings)


def lint_file(path: str, cloud: Cloud | None = None) -> LintResult:
    """Lint every ``environment_variables`` mapping of ``path``; raise `YamlFileError`.

    ``cloud`` is used where the mapping itself does not set ``SECRETINJ_CLOUD``. Only the
    value that wins for each name is checked (a merged value overridden by the mapping's own
    key never reaches the environment). References elsewhere in the file get a warning: the
    platform leaves them as they are.
    """
    from yaml.nodes import MappingNode, ScalarNode

    findings: list[Finding] = []
    references = 0
    mappings = 0
    linted: set[int] = set()
    expander = MergeExpander(path)
    roots = compose_file(path)
    for root in roots:
        for key, node in environment_mappings(root):
            mappings += 1
            if id(node) in linted:  # one mapping shared through an alias
                continue
            linted.add(id(node))
            if isinstance(node, ScalarNode) and node.tag == TAG + "null":
                continue  # `environment_variables:` with nothing under it
            if not isinstance(node, MappingNode):
                findings.append(
                    Finding(path, line_of(key), ERROR, None, f"{ENV_KEY} must be a mapping")
                )
                continue
            refs, found = _lint_mapping(path, expander.entries(node), cloud)
            references += refs
            findings += found
    if not mappings:
        findings.append(Finding(path, 1, WARNING, None, f"no {ENV_KEY} mapping found"))
    findings += outside_references(path, roots)
    unique = {str(f): f for f in findings}  # a mapping merged into several: report it once
    return LintResult(sorted(unique.values(), key=lambda f: f.line), references)


def _lint_mapping(path: str, pairs: list[Entry], cloud: Cloud | None) -> tuple[int, list[Finding]]:
    from yaml.nodes import ScalarNode

    findings: list[Finding] = []
    references = 0
    winning = {id(entry[0]) for entry in winners(pairs).values()}
    mapping_cloud, cloud_error = _mapping_cloud([e for e in pairs if id(e[0]) in winning])
    seen: dict[str, int] = {}
    for key, value, merged in pairs:
        line = line_of(key)
        if key.tag == MERGE_TAG:
            findings.append(Finding(path, line, ERROR, None, "'<<' must merge mappings"))
            continue
        if not isinstance(key, ScalarNode) or key.tag == TAG + "null":
            findings.append(Finding(path, line, ERROR, None, "a variable name must be a scalar"))
            continue
        name = str(key.value)
        problem = environ_problem(name)
        if problem is not None:
            findings.append(Finding(path, line, ERROR, None, problem))
            continue

        def add(level: str, message: str, name: str = name, line: int = line) -> None:
            findings.append(Finding(path, line, level, name, message))

        if not merged:  # a key overriding a merged (<<) one is the point of merging
            if name in seen:
                add(WARNING, f"defined again (first at line {seen[name]}): the last value wins")
            seen[name] = line
        if id(key) not in winning:
            continue  # overridden: this value never reaches the environment
        if not _PORTABLE_NAME.fullmatch(name):
            add(WARNING, "not a portable environment variable name ([A-Za-z_][A-Za-z0-9_]*)")
        if name == CLOUD_VARIABLE and cloud_error:
            add(ERROR, cloud_error)
        if not isinstance(value, ScalarNode):
            add(ERROR, "the value must be a string, number or boolean")
            continue
        if value.tag == TAG + "null":
            add(WARNING, "has no value (null): it is set to an empty string")
            continue
        if value.tag != TAG + "str":
            continue  # numbers, booleans, dates: converted to strings, never references
        if "\0" in value.value:
            add(ERROR, "the value holds a NUL character: the environment cannot hold it")
            continue
        if is_reference(value.value):
            references += 1
        for level, message in check_value(value.value, mapping_cloud or cloud):
            add(level, message)
    return references, findings


def _mapping_cloud(entries: list[Entry]) -> tuple[Cloud | None, str | None]:
    """Return the cloud the mapping's ``SECRETINJ_CLOUD`` names (or an error message)."""
    raw: str | None = None
    for key, value, _ in entries:
        if is_str(key) and key.value == CLOUD_VARIABLE and is_str(value):
            raw = value.value
    if not raw:
        return None, None
    try:
        return get_cloud(raw), None
    except SecretInjectionError as ex:
        return None, ex.message


def outside_references(path: str, roots: list[Node]) -> list[Finding]:
    """Warn about secret references in fields other than ``environment_variables`` values.

    The platform resolves references only there: in ``model:``, ``environment.image:`` and
    every other field the text stays as written. Mappings merged into an
    ``environment_variables`` mapping are part of it.
    """
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    inside: set[int] = set()
    for root in roots:
        for _, node in environment_mappings(root):
            _collect(node, inside)
    findings: list[Finding] = []
    seen: set[int] = set()
    stack: list[tuple[Node, str]] = [(root, "") for root in reversed(roots)]
    while stack:
        node, where = stack.pop()
        if id(node) in seen or id(node) in inside:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            if node.tag == TAG + "str" and _SECRET_REFERENCE.search(node.value):
                message = (
                    f"{where or 'the document'}: a secret reference outside {ENV_KEY} stays "
                    f"a literal: the platform resolves references only in {ENV_KEY} values"
                )
                findings.append(Finding(path, line_of(node), WARNING, None, message))
        elif isinstance(node, MappingNode):
            for key, value in reversed(node.value):
                label = str(key.value) if isinstance(key, ScalarNode) else "?"
                stack.append((value, f"{where}.{label}" if where else label))
        elif isinstance(node, SequenceNode):
            stack += [(item, f"{where}[{i}]") for i, item in reversed(list(enumerate(node.value)))]
    return findings


def _collect(node: Node, ids: set[int]) -> None:
    """Add ``node`` and every node under it (aliases and merged mappings too) to ``ids``."""
    from yaml.nodes import MappingNode, SequenceNode

    stack = [node]
    while stack:
        current = stack.pop()
        if id(current) in ids:
            continue
        ids.add(id(current))
        if isinstance(current, MappingNode):
            for key, value in current.value:
                stack += (key, value)
        elif isinstance(current, SequenceNode):
            stack += current.value


# -- the command ----------------------------------------------------------------------------


def summary_line(
    files: int, references: int, errors: int, warnings: int, unreadable: int = 0
) -> str:
    """Return the final line of ``secretinj lint``."""

    def plural(n: int, noun: str) -> str:
        return f"{n} {noun}" + ("" if n == 1 else "s")

    line = (
        f"{plural(files, 'file')}, {plural(references, 'reference')}: "
        f"{plural(errors, 'error')}, {plural(warnings, 'warning')}"
    )
    return line + (f", {unreadable} unreadable" if unreadable else "")
