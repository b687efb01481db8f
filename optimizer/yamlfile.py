"""The one reader of YAML input (sweep files, ``scenario.yaml``, the settings of a workbook's scenario sheet).

Every document is read with a safe loader (``yaml.CSafeLoader``, or ``yaml.SafeLoader`` where PyYAML is built
without libyaml: plain data only, no Python objects), and:

* a key written twice in one mapping is an error naming the line and the key (YAML itself keeps the last);
* merge keys (``<<: *defaults``) are refused with a message saying to write the keys out: combined with the
  duplicate-key rule they would make "which value wins" depend on YAML's merge order;
* the document's size is bounded (:data:`MAX_BYTES_ENV`, default :data:`DEFAULT_MAX_BYTES` bytes), and so is
  the size of the data it expands to through its aliases (``*name``): the number of values counted as if
  every alias were written out (:data:`MAX_NODES_ENV`, default :data:`DEFAULT_MAX_NODES`). An alias bomb
  ("billion laughs": a few lines whose aliases nest to 10^9 values) is refused after composing its few
  nodes, before anything is built from them. A recursive alias is refused too.

Problems come back as :class:`~optimizer.errors.Problem` (rule ``yaml``, ``duplicate-key``, ``yaml-merge``
or ``yaml-limit``), never with the expanded data in the message.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from .errors import Problem

MAX_BYTES_ENV = "OPTIMIZER_YAML_MAX_BYTES"
MAX_NODES_ENV = "OPTIMIZER_YAML_MAX_NODES"
DEFAULT_MAX_BYTES = 1_000_000
DEFAULT_MAX_NODES = 100_000
MERGE_TAG = "tag:yaml.org,2002:merge"


def _limit(env: str, default: int) -> int:
    text = os.environ.get(env, "").strip()
    try:
        value = int(text) if text else default
    except ValueError:
        return default
    return value if value > 0 else default


def max_bytes() -> int:
    """The largest YAML document read, in bytes (environment variable :data:`MAX_BYTES_ENV`)."""
    return _limit(MAX_BYTES_ENV, DEFAULT_MAX_BYTES)


def max_nodes() -> int:
    """The most values a YAML document may expand to through its aliases (:data:`MAX_NODES_ENV`)."""
    return _limit(MAX_NODES_ENV, DEFAULT_MAX_NODES)


class _Refused(Exception):
    def __init__(self, rule: str, message: str, line: int | None):
        super().__init__(message)
        self.rule, self.message, self.line = rule, message, line


def _line(node: Node) -> int | None:
    mark = getattr(node, "start_mark", None)
    return mark.line + 1 if mark is not None else None


def expanded_size(root: Node, limit: int) -> int:
    """The number of nodes of ``root`` with every alias written out (computed over the shared node graph
    in time linear in its distinct nodes); stops with a refusal past ``limit`` or at a recursive alias."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    # iterative post-order walk: a deep document must not exhaust Python's recursion limit
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            children = _children(node)
            total = 1 + sum(sizes[id(c)] for c in children)
            open_nodes.discard(key)
            if total > limit:
                raise _Refused("yaml-limit", _too_big(limit), _line(node))
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise _Refused("yaml", "a recursive alias (a value that contains itself): write the data out",
                           _line(node))
        open_nodes.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                raise _Refused("yaml", "a recursive alias (a value that contains itself): write the data out",
                               _line(child))
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _too_big(limit: int) -> str:
    return (f"the document holds more than {limit:,} values, every alias (*name) counted as written out: "
            f"refused; raise the limit with the environment variable {MAX_NODES_ENV}")


_SAFE_BASE: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SAFE_BASE):
    """The safe loader (libyaml's parser where PyYAML has it: ten times faster on a large document; the
    same safe constructor) that refuses duplicate keys and merge keys, and checks the expanded size of
    the composed document before constructing anything."""

    node_limit = DEFAULT_MAX_NODES

    def get_single_data(self) -> object:
        node = self.get_single_node()
        if node is None:
            return None
        expanded_size(node, self.node_limit)
        return self.construct_document(node)


def _construct_mapping(loader: yaml.SafeLoader, node: MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        if key_node.tag == MERGE_TAG:
            raise _Refused("yaml-merge", "merge keys (<<) are not supported: write the keys out in this mapping",
                           _line(key_node))
        key = loader.construct_object(key_node, deep=deep)
        try:
            twice = key in seen
            seen.add(key)
        except TypeError:  # an unhashable key: the safe constructor's own error follows
            continue
        if twice:
            raise _Refused("duplicate-key", f"duplicate key {_short(key)} written twice in one mapping",
                           _line(key_node))
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_yaml(text: str, file: str, row: int | None = None) -> tuple[object, list[Problem]]:
    """The data of one YAML document, or the problems that refuse it (``row``: where the text sits in its
    file, for a cell of a sheet; otherwise the line of the problem)."""
    limit = max_bytes()
    size = len(text.encode("utf-8"))
    if size > limit:
        return None, [Problem(file, row, None, "yaml-limit",
                              f"the document is {size:,} bytes, more than the limit of {limit:,}: refused; "
                              f"raise it with the environment variable {MAX_BYTES_ENV}")]
    loader = _Loader(text)
    loader.node_limit = max_nodes()
    try:
        return loader.get_single_data(), []
    except _Refused as exc:
        return None, [Problem(file, row if row is not None else exc.line, None, exc.rule, exc.message)]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [Problem(file, row if row is not None else line, None, "yaml", f"malformed YAML: {problem}")]
    except RecursionError:
        return None, [Problem(file, row, None, "yaml", "the document nests too deeply")]
    finally:
        loader.dispose()


def read_yaml(path: Path) -> tuple[object, list[Problem]]:
    """Read and parse the YAML file ``path`` (see :func:`parse_yaml`). A missing file raises
    :class:`FileNotFoundError` (each caller names what is missing its own way)."""
    file = str(path)
    limit = max_bytes()
    try:
        size = path.stat().st_size
        if size > limit:
            return None, [Problem(file, None, None, "yaml-limit",
                                  f"the file is {size:,} bytes, more than the limit of {limit:,}: refused; "
                                  f"raise it with the environment variable {MAX_BYTES_ENV}")]
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(file, None, None, "yaml", f"cannot read the file: {exc}")]
    return parse_yaml(text, file)
