"""Lint the secret references of Azure ML deployment YAML files (pure, no network).

`lint_file` finds every ``environment_variables`` mapping in a YAML file (the top-level one
of a CLI v2 deployment file, or one nested anywhere, in any document of the file) and checks
each value the way the runtime would read it: the reference grammar, connection and secret
names, versions, and that a Key Vault host is a vault of a known cloud. `check_value` checks
one value. Reading the files is `deployment_yaml`'s job (PyYAML, imported lazily).
"""

from __future__ import annotations

import re

from .clouds import AZURE_PUBLIC_CLOUD, CLOUDS, Cloud, get_cloud
from .deployment_yaml import (
    ENV_KEY,
    TAG,
    compose_file,
    entries,
    environment_mappings,
    is_str,
    line_of,
)
from .errors import ReferenceSyntaxError, SecretInjectionError, UntrustedEndpointError
from .references import KeyVaultReference, is_reference, parse_reference

TYPE_CHECKING = False
if TYPE_CHECKING:
    from yaml.nodes import MappingNode, Node

ERROR = "error"
WARNING = "warning"
CLOUD_VARIABLE = "SECRETINJ_CLOUD"

_PORTABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BARE_REFERENCE = ("azureml://connections/", "keyvault:https://")


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


# -- one value ------------------------------------------------------------------------------


def check_value(value: str, cloud: Cloud | None = None) -> list[tuple[str, str]]:
    """Check one string value; return ``(level, message)`` pairs (empty when fine).

    ``cloud`` is the cloud the container runs in, None when it cannot be told (the runtime
    then uses AzureCloud unless ``SECRETINJ_CLOUD`` is set some other way).
    """
    if not is_reference(value):
        for marker in _BARE_REFERENCE:
            if marker in value:
                return [
                    (
                        WARNING,
                        f"mentions '{marker}' without '${{{{...}}}}': it is passed on as a "
                        "literal, not resolved",
                    )
                ]
        return []
    try:
        ref = parse_reference(value)
    except ReferenceSyntaxError as ex:
        return [(ERROR, ex.message)]
    if not isinstance(ref, KeyVaultReference):
        return []
    out = _check_vault_host(ref, cloud)
    if ref.version is None:
        out.append(
            (
                WARNING,
                "no secret version: the platform documents only the versioned form "
                "'.../secrets/<name>/<version>'; the runtime fetches the latest version",
            )
        )
    return out


def _check_vault_host(ref: KeyVaultReference, cloud: Cloud | None) -> list[tuple[str, str]]:
    host_cloud = _vault_cloud(ref)
    if cloud is not None:
        try:
            _check_host(ref, cloud)
        except UntrustedEndpointError as ex:
            also = ""
            if host_cloud is not None:
                also = f" (it is a vault of {host_cloud.name})"
            return [(ERROR, ex.message + also)]
        return []
    if host_cloud is None:
        for candidate in CLOUDS.values():
            if ref.host.lower().endswith(candidate.keyvault_suffix):
                try:  # a vault host of that cloud, but not a valid vault name
                    _check_host(ref, candidate)
                except UntrustedEndpointError as ex:
                    return [(ERROR, ex.message)]
        suffixes = ", ".join(f"'<vault>{c.keyvault_suffix}'" for c in CLOUDS.values())
        return [
            (
                ERROR,
                f"Key Vault host {ref.host!r} is not a vault of any Azure cloud ({suffixes}): "
                "the runtime refuses to send a token to it",
            )
        ]
    if host_cloud is not AZURE_PUBLIC_CLOUD:
        return [
            (
                WARNING,
                f"a vault of {host_cloud.name}: it resolves only where "
                f"{CLOUD_VARIABLE}={host_cloud.name} (the default, AzureCloud, refuses it); "
                f"set {CLOUD_VARIABLE} in environment_variables or use --cloud",
            )
        ]
    return []


def _check_host(ref: KeyVaultReference, cloud: Cloud) -> None:
    from .keyvault import check_vault_host

    check_vault_host(ref, cloud)


def _vault_cloud(ref: KeyVaultReference) -> Cloud | None:
    """Return the cloud whose vault ``ref`` points at, None if none."""
    for cloud in CLOUDS.values():
        try:
            _check_host(ref, cloud)
        except UntrustedEndpointError:
            continue
        return cloud
    return None


def lint_file(path: str, cloud: Cloud | None = None) -> LintResult:
    """Lint every ``environment_variables`` mapping of ``path``; raise `YamlFileError`.

    ``cloud`` is used where the mapping itself does not set ``SECRETINJ_CLOUD``.
    """
    from yaml.nodes import MappingNode, ScalarNode

    findings: list[Finding] = []
    references = 0
    mappings = 0
    linted: set[int] = set()
    for root in compose_file(path):
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
            refs, found = _lint_mapping(path, node, cloud)
            references += refs
            findings += found
    if not mappings:
        findings.append(Finding(path, 1, WARNING, None, f"no {ENV_KEY} mapping found"))
    findings.sort(key=lambda f: f.line)
    return LintResult(findings, references)


def _lint_mapping(path: str, node: MappingNode, cloud: Cloud | None) -> tuple[int, list[Finding]]:
    from yaml.nodes import ScalarNode

    findings: list[Finding] = []
    references = 0
    pairs = entries(node)
    mapping_cloud, cloud_error = _mapping_cloud(pairs)
    seen: dict[str, int] = {}
    for key, value, merged in pairs:
        line = line_of(key)
        if key.tag == TAG + "merge":
            findings.append(Finding(path, line, ERROR, None, "'<<' must merge mappings"))
            continue
        if not isinstance(key, ScalarNode) or key.tag == TAG + "null":
            findings.append(Finding(path, line, ERROR, None, "a variable name must be a scalar"))
            continue
        name = key.value

        def add(level: str, message: str, name: str = name, line: int = line) -> None:
            findings.append(Finding(path, line, level, name, message))

        if not merged:  # a key overriding a merged (<<) one is the point of merging
            if name in seen:
                add(WARNING, f"defined again (first at line {seen[name]}): the last value wins")
            seen[name] = line
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
        if is_reference(value.value):
            references += 1
        for level, message in check_value(value.value, mapping_cloud or cloud):
            add(level, message)
    return references, findings


def _mapping_cloud(entries: list[tuple[Node, Node, bool]]) -> tuple[Cloud | None, str | None]:
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
