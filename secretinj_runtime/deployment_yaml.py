"""Read Azure ML deployment YAML: the ``environment_variables`` mappings, with line numbers.

Shared by `secretinj lint` (which checks each value) and `secretinj run --deployment` (which
injects them as the platform would). PyYAML is imported inside the functions.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from yaml.nodes import MappingNode, Node

ENV_KEY = "environment_variables"
TAG = "tag:yaml.org,2002:"


class YamlFileError(Exception):
    """A file cannot be read or is not valid YAML; the message names the file (and line)."""


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
                if is_str(key) and key.value == ENV_KEY:
                    found.append((key, value))
                else:
                    stack.append(value)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    found.sort(key=lambda kv: (kv[0].start_mark.line, kv[0].start_mark.column))
    yield from found


def entries(node: MappingNode, depth: int = 0) -> list[tuple[Node, Node, bool]]:
    """Return ``(key, value, merged)`` of a mapping, YAML merge keys (``<<``) expanded.

    Later entries win: merged ones come first, the mapping's own keys after them.
    """
    from yaml.nodes import MappingNode, SequenceNode

    merged: list[tuple[Node, Node, bool]] = []
    own: list[tuple[Node, Node, bool]] = []
    for key, value in node.value:
        if key.tag != TAG + "merge":
            own.append((key, value, False))
            continue
        sources = value.value if isinstance(value, SequenceNode) else [value]
        if depth > 20 or not all(isinstance(s, MappingNode) for s in sources):
            own.append((key, value, False))  # reported by the caller
            continue
        for source in reversed(sources):  # the first mapping listed takes precedence
            merged += [(k, v, True) for k, v, _ in entries(source, depth + 1)]
    return merged + own


def load_environment_variables(path: str) -> dict[str, str]:
    """Return the ``environment_variables`` of deployment file ``path`` as strings.

    Values are converted the way the deployment's JSON carries them (``true``, ``1.5``; null
    becomes an empty string). A file without the mapping gives ``{}``. Raises `YamlFileError`
    when the file is unreadable or invalid, holds several mappings or a non-scalar value.
    """
    from yaml.nodes import MappingNode, ScalarNode

    found = [kv for root in compose_file(path) for kv in environment_mappings(root)]
    if len(found) > 1:
        lines = ", ".join(str(line_of(k)) for k, _ in found)
        raise YamlFileError(
            f"{path}: {len(found)} {ENV_KEY} mappings (lines {lines}): expected one"
        )
    env: dict[str, str] = {}
    if not found:
        return env
    key, node = found[0]
    if isinstance(node, ScalarNode) and node.tag == TAG + "null":
        return env
    if not isinstance(node, MappingNode):
        raise YamlFileError(f"{path}:{line_of(key)}: {ENV_KEY} must be a mapping")
    for name_node, value, _ in entries(node):
        if (
            not isinstance(name_node, ScalarNode)
            or name_node.tag == TAG + "merge"
            or not isinstance(value, ScalarNode)
        ):
            raise YamlFileError(
                f"{path}:{line_of(name_node)}: {ENV_KEY} must map names to strings, numbers "
                "or booleans"
            )
        env[str(name_node.value)] = scalar_text(value)
    return env


def scalar_text(node: Node) -> str:
    """Return a scalar as the string the platform would inject."""
    from yaml.constructor import SafeConstructor
    from yaml.nodes import ScalarNode

    assert isinstance(node, ScalarNode)
    tag = node.tag.removeprefix(TAG)
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


def is_str(node: Node) -> bool:
    """Tell whether ``node`` is a plain string scalar."""
    from yaml.nodes import ScalarNode

    return isinstance(node, ScalarNode) and node.tag == TAG + "str"


def line_of(node: Node) -> int:
    """Return the 1-based line where ``node`` starts."""
    return int(node.start_mark.line) + 1
