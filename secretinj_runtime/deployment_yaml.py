"""Read Azure ML deployment YAML: the ``environment_variables`` mappings, with line numbers.

Shared by `secretinj lint` (which checks each value) and `secretinj run --deployment` (which
injects them as the platform would). PyYAML is imported inside the functions.

The files come from users and repositories, so reading them is bounded: at most
`MAX_FILE_BYTES`, nesting at most `MAX_NESTING` levels deep, merge keys (``<<``) chained at
most `MAX_MERGE_DEPTH` deep and copying at most `MAX_MERGED_ENTRIES` entries in all (each
merged mapping is expanded once, however often it is merged). A file beyond a limit is
invalid input: `YamlFileError`, naming the file and line.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from yaml.nodes import MappingNode, Node

ENV_KEY = "environment_variables"
TAG = "tag:yaml.org,2002:"
MERGE_TAG = TAG + "merge"

#: Largest file read (a deployment file is a few kilobytes).
MAX_FILE_BYTES = 2 * 1024 * 1024
#: Deepest nesting of collections (a deployment file nests about five levels).
MAX_NESTING = 100
#: Longest chain of merge keys: a mapping merging one that merges another, and so on.
MAX_MERGE_DEPTH = 50
#: Most entries copied by merge keys in one file, all mappings together.
MAX_MERGED_ENTRIES = 100_000

#: ``(key, value, merged)``: one entry of a mapping, and whether a merge key brought it.
Entry = tuple["Node", "Node", bool]


class YamlFileError(Exception):
    """A file cannot be read or is not valid YAML; the message names the file (and line)."""


def compose_file(path: str) -> list[Node]:
    """Read ``path`` and return the root node of each YAML document.

    Raises `YamlFileError` (naming the file, and the line for a YAML error or a limit).
    """
    import yaml

    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as ex:
        raise YamlFileError(f"{path}: cannot read: {ex.strerror or ex}") from None
    if len(data) > MAX_FILE_BYTES:
        line = data[:MAX_FILE_BYTES].count(b"\n") + 1
        raise YamlFileError(
            f"{path}:{line}: larger than {MAX_FILE_BYTES // 1024 // 1024} MiB: not a "
            "deployment file"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise YamlFileError(f"{path}: cannot read: not UTF-8 text") from None
    try:
        return [n for n in yaml.compose_all(text, Loader=_bounded_loader()) if n is not None]
    except yaml.MarkedYAMLError as ex:
        mark = ex.problem_mark or ex.context_mark
        at = f":{mark.line + 1}" if mark is not None else ""
        what = " ".join(p for p in (ex.context, ex.problem) if p)
        raise YamlFileError(f"{path}{at}: invalid YAML: {what}") from None
    except yaml.YAMLError as ex:
        raise YamlFileError(f"{path}: invalid YAML: {ex}") from None
    except RecursionError:  # the nesting limit should come first; never a crash
        raise YamlFileError(f"{path}: invalid YAML: nested too deeply") from None


def _bounded_loader() -> type:
    """Return a SafeLoader whose composer refuses to nest deeper than `MAX_NESTING`."""
    import yaml
    from yaml.composer import ComposerError

    class BoundedLoader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Node | None, index: int) -> Node | None:
            if self.depth >= MAX_NESTING:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                problem = f"collections nested deeper than {MAX_NESTING} levels"
                raise ComposerError(None, None, problem, mark)
            self.depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return BoundedLoader


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


class MergeExpander:
    """Expands the merge keys (``<<``) of one file's mappings, each merged mapping once.

    Raises `YamlFileError` for a mapping merged into itself and beyond `MAX_MERGE_DEPTH` or
    `MAX_MERGED_ENTRIES`.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._memo: dict[int, list[Entry]] = {}
        self._active: set[int] = set()
        self._copied = 0

    def entries(self, node: MappingNode) -> list[Entry]:
        """Return the entries of ``node``: merged ones first, then its own keys as written.

        Later entries win. The merged ones are already reduced to one per name, the one
        YAML's merge rules pick: the first mapping listed in a ``<<`` takes precedence. A
        ``<<`` whose value is not a mapping (or a list of them) stays an own entry, for the
        caller to report.
        """
        merged, own = self._split(node, 0)
        return merged + own

    def _split(self, node: MappingNode, depth: int) -> tuple[list[Entry], list[Entry]]:
        from yaml.nodes import MappingNode, SequenceNode

        merged: dict[object, Entry] = {}
        own: list[Entry] = []
        for key, value in node.value:
            sources = value.value if isinstance(value, SequenceNode) else [value]
            if key.tag != MERGE_TAG or not all(isinstance(s, MappingNode) for s in sources):
                own.append((key, value, False))
                continue
            for source in reversed(sources):
                for k, v, _ in self._expanded(source, depth + 1, key):
                    merged[entry_name(k)] = (k, v, True)
        return list(merged.values()), own

    def _expanded(self, node: MappingNode, depth: int, via: Node) -> list[Entry]:
        """Return the entries of ``node``, one per name (the winner), expanding it once."""
        result = self._memo.get(id(node))
        if result is None:
            where = f"{self.path}:{line_of(via)}"
            if id(node) in self._active:
                raise YamlFileError(f"{where}: '<<' merges a mapping into itself")
            if depth > MAX_MERGE_DEPTH:
                raise YamlFileError(
                    f"{where}: merge keys ('<<') chained deeper than {MAX_MERGE_DEPTH} levels"
                )
            self._active.add(id(node))
            try:
                merged, own = self._split(node, depth)
            finally:
                self._active.discard(id(node))
            result = list(winners(merged + own).values())
            self._memo[id(node)] = result
        self._copied += len(result)
        if self._copied > MAX_MERGED_ENTRIES:
            raise YamlFileError(
                f"{self.path}:{line_of(via)}: merge keys ('<<') copy more than "
                f"{MAX_MERGED_ENTRIES} entries: not a deployment file"
            )
        return result


def entry_name(key: Node) -> object:
    """Return what identifies a variable: a scalar key's text, else the key node itself."""
    from yaml.nodes import ScalarNode

    if isinstance(key, ScalarNode) and key.tag not in (MERGE_TAG, TAG + "null"):
        return str(key.value)
    return ("node", id(key))


def winners(entries: list[Entry]) -> dict[object, Entry]:
    """Return the entry that wins for each name (the last one), keyed by `entry_name`."""
    out: dict[object, Entry] = {}
    for entry in entries:
        out[entry_name(entry[0])] = entry
    return out


def load_environment_entries(path: str) -> list[tuple[str, str, int]]:
    """Return ``(name, value, line)`` of each variable of deployment file ``path``.

    One entry per name, the value that wins. Values are converted the way the deployment's
    JSON carries them (``true``, ``1.5``; null becomes an empty string). A file without the
    mapping gives ``[]``. Raises `YamlFileError` when the file is unreadable, invalid or over
    a limit, holds several mappings, a name that is not a scalar or a non-scalar value.
    """
    from yaml.nodes import MappingNode, ScalarNode

    found = [kv for root in compose_file(path) for kv in environment_mappings(root)]
    if len(found) > 1:
        lines = ", ".join(str(line_of(k)) for k, _ in found)
        raise YamlFileError(
            f"{path}: {len(found)} {ENV_KEY} mappings (lines {lines}): expected one"
        )
    if not found:
        return []
    key, node = found[0]
    if isinstance(node, ScalarNode) and node.tag == TAG + "null":
        return []
    if not isinstance(node, MappingNode):
        raise YamlFileError(f"{path}:{line_of(key)}: {ENV_KEY} must be a mapping")
    out: list[tuple[str, str, int]] = []
    for name_node, value, _ in winners(MergeExpander(path).entries(node)).values():
        if not isinstance(entry_name(name_node), str) or not isinstance(value, ScalarNode):
            raise YamlFileError(
                f"{path}:{line_of(name_node)}: {ENV_KEY} must map names to strings, numbers "
                "or booleans"
            )
        out.append((str(name_node.value), scalar_text(value), line_of(name_node)))
    return out


def load_environment_variables(path: str) -> dict[str, str]:
    """Return the ``environment_variables`` of deployment file ``path`` as strings.

    See `load_environment_entries` for the conversion and the errors.
    """
    return {name: value for name, value, _ in load_environment_entries(path)}


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
    try:
        if tag == "int":
            return str(constructor.construct_yaml_int(node))
        if tag == "float":
            return str(constructor.construct_yaml_float(node))
    except ValueError:  # e.g. more digits than Python converts: keep the text as written
        pass
    return str(node.value)


def is_str(node: Node) -> bool:
    """Tell whether ``node`` is a plain string scalar."""
    from yaml.nodes import ScalarNode

    return isinstance(node, ScalarNode) and node.tag == TAG + "str"


def line_of(node: Node) -> int:
    """Return the 1-based line where ``node`` starts."""
    return int(node.start_mark.line) + 1
