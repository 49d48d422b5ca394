"""Lint the secret references of Azure ML deployment YAML files (pure, no network).

`lint_file` finds every ``environment_variables`` mapping in a YAML file (the top-level one
of a CLI v2 deployment file, or one nested anywhere, in any document of the file) and checks
each value the way the runtime would read it: the reference grammar, connection and secret
names, versions, and that a Key Vault host is a vault of a known cloud. `check_value` checks
one value. `load_environment_variables` reads the variables as the platform would inject
them (values converted to strings), for ``secretinj run --deployment``.

PyYAML is imported inside the functions: importing this module stays light.
"""

from __future__ import annotations

import re

from .clouds import AZURE_PUBLIC_CLOUD, CLOUDS, Cloud, get_cloud
from .errors import ReferenceSyntaxError, SecretInjectionError, UntrustedEndpointError
from .references import KeyVaultReference, is_reference, parse_reference

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from yaml.nodes import MappingNode, Node

ERROR = "error"
WARNING = "warning"
ENV_KEY = "environment_variables"
CLOUD_VARIABLE = "SECRETINJ_CLOUD"

_TAG = "tag:yaml.org,2002:"
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


class YamlFileError(Exception):
    """A file cannot be read or is not valid YAML; the message names the file (and line)."""


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


# -- files ----------------------------------------------------------------------------------


def compose_file(path: str) -> list[Node]:
    """Read ``path`` and return the root node of each YAML document.

    Raises `YamlFileError` (naming the file, and the line for a YAML error).
    """
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise YamlFileError(f"{path}: cannot read: not UTF-8 text") from None
    except OSError as ex:
        raise YamlFileError(f"{path}: cannot read: {ex.strerror or ex}") from None
    try:
        return [n for n in yaml.compose_all(text, Loader=yaml.SafeLoader) if n is not None]
    except yaml.MarkedYAMLError as ex:
        mark = ex.problem_mark or ex.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        what = " ".join(p for p in (ex.context, ex.problem) if p)
        raise YamlFileError(f"{path}{line}: invalid YAML: {what}") from None
    except yaml.YAMLError as ex:
        raise YamlFileError(f"{path}: invalid YAML: {ex}") from None


def environment_mappings(root: Node) -> Iterator[tuple[Node, Node]]:
    """Yield ``(key node, value node)`` of every ``environment_variables`` key under ``root``."""
    from yaml.nodes import MappingNode, SequenceNode

    seen: set[int] = set()
    stack: list[Node] = [root]
    found: list[tuple[Node, Node]] = []
    while stack:
        node = stack.pop()
        if id(node) in seen:  # aliases may make the graph recursive
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if _is_str(key) and key.value == ENV_KEY:
                    found.append((key, value))
                else:
                    stack.append(value)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    found.sort(key=lambda kv: (kv[0].start_mark.line, kv[0].start_mark.column))
    yield from found


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
            if isinstance(node, ScalarNode) and node.tag == _TAG + "null":
                continue  # `environment_variables:` with nothing under it
            if not isinstance(node, MappingNode):
                findings.append(
                    Finding(path, _line(key), ERROR, None, f"{ENV_KEY} must be a mapping")
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
    entries = _entries(node)
    mapping_cloud, cloud_error = _mapping_cloud(entries)
    seen: dict[str, int] = {}
    for key, value, merged in entries:
        line = _line(key)
        if key.tag == _TAG + "merge":
            findings.append(Finding(path, line, ERROR, None, "'<<' must merge mappings"))
            continue
        if not isinstance(key, ScalarNode) or key.tag == _TAG + "null":
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
        if value.tag == _TAG + "null":
            add(WARNING, "has no value (null): it is set to an empty string")
            continue
        if value.tag != _TAG + "str":
            continue  # numbers, booleans, dates: converted to strings, never references
        if is_reference(value.value):
            references += 1
        for level, message in check_value(value.value, mapping_cloud or cloud):
            add(level, message)
    return references, findings


def _entries(node: MappingNode, depth: int = 0) -> list[tuple[Node, Node, bool]]:
    """Return ``(key, value, merged)`` of a mapping, YAML merge keys (``<<``) expanded.

    Later entries win: merged ones come first, the mapping's own keys after them.
    """
    from yaml.nodes import MappingNode, SequenceNode

    merged: list[tuple[Node, Node, bool]] = []
    own: list[tuple[Node, Node, bool]] = []
    for key, value in node.value:
        if key.tag != _TAG + "merge":
            own.append((key, value, False))
            continue
        sources = value.value if isinstance(value, SequenceNode) else [value]
        if depth > 20 or not all(isinstance(s, MappingNode) for s in sources):
            own.append((key, value, False))  # reported by the caller
            continue
        for source in reversed(sources):  # the first mapping listed takes precedence
            merged += [(k, v, True) for k, v, _ in _entries(source, depth + 1)]
    return merged + own


def _mapping_cloud(entries: list[tuple[Node, Node, bool]]) -> tuple[Cloud | None, str | None]:
    """Return the cloud the mapping's ``SECRETINJ_CLOUD`` names (or an error message)."""
    raw: str | None = None
    for key, value, _ in entries:
        if _is_str(key) and key.value == CLOUD_VARIABLE and _is_str(value):
            raw = value.value
    if not raw:
        return None, None
    try:
        return get_cloud(raw), None
    except SecretInjectionError as ex:
        return None, ex.message


def load_environment_variables(path: str) -> dict[str, str]:
    """Return the ``environment_variables`` of deployment file ``path`` as strings.

    Values are converted the way the deployment's JSON carries them (``true``, ``1.5``; null
    becomes an empty string). A file without the mapping gives ``{}``. Raises `YamlFileError`
    when the file is unreadable or invalid, holds several mappings or a non-scalar value.
    """
    from yaml.nodes import MappingNode, ScalarNode

    found = [kv for root in compose_file(path) for kv in environment_mappings(root)]
    if len(found) > 1:
        lines = ", ".join(str(_line(k)) for k, _ in found)
        raise YamlFileError(
            f"{path}: {len(found)} {ENV_KEY} mappings (lines {lines}): expected one"
        )
    env: dict[str, str] = {}
    if not found:
        return env
    key, node = found[0]
    if isinstance(node, ScalarNode) and node.tag == _TAG + "null":
        return env
    if not isinstance(node, MappingNode):
        raise YamlFileError(f"{path}:{_line(key)}: {ENV_KEY} must be a mapping")
    for name_node, value, _ in _entries(node):
        if (
            not isinstance(name_node, ScalarNode)
            or name_node.tag == _TAG + "merge"
            or not isinstance(value, ScalarNode)
        ):
            raise YamlFileError(
                f"{path}:{_line(name_node)}: {ENV_KEY} must map names to strings, numbers "
                "or booleans"
            )
        env[str(name_node.value)] = _scalar_text(value)
    return env


def _scalar_text(node: Node) -> str:
    """Return a scalar as the string the platform would inject."""
    from yaml.constructor import SafeConstructor
    from yaml.nodes import ScalarNode

    assert isinstance(node, ScalarNode)
    tag = node.tag.removeprefix(_TAG)
    if tag == "str":
        return str(node.value)
    if tag == "null":
        return ""
    constructor = SafeConstructor()
    if tag == "bool":
        return "true" if constructor.construct_yaml_bool(node) else "false"
    if tag == "int":
        return str(constructor.construct_yaml_int(node))
    if tag == "float":
        return str(constructor.construct_yaml_float(node))
    return str(node.value)


def _is_str(node: Node) -> bool:
    from yaml.nodes import ScalarNode

    return isinstance(node, ScalarNode) and node.tag == _TAG + "str"


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


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
