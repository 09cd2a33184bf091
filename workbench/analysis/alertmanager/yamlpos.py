"""YAML loading that remembers where every key and item was (for errors naming the line).

:func:`load` returns plain ``dict``/``list``/scalars, except that mappings are :class:`PosDict`
and sequences :class:`PosList`, which carry the 1-based ``(line, column)`` of themselves and of
each key's value / each item.

Examples
--------
>>> doc = load("route:\\n  receiver: a\\n")
>>> doc["route"]["receiver"], doc["route"].pos_of("receiver")
('a', (2, 13))
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

__all__ = ["PosDict", "PosList", "load"]

Pos = tuple[int, int]


class PosDict(dict):  # type: ignore[type-arg]
    """A mapping with positions: ``pos`` (its own) and ``pos_of(key)`` (the key's value)."""

    pos: Pos = (1, 1)
    key_pos: dict[Any, Pos]

    def pos_of(self, key: Any) -> Pos:
        return self.key_pos.get(key, self.pos)


class PosList(list):  # type: ignore[type-arg]
    """A sequence with positions: ``pos`` (its own) and ``item_pos[i]``."""

    pos: Pos = (1, 1)
    item_pos: list[Pos]


def _pos(node: yaml.Node) -> Pos:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _convert(loader: yaml.SafeLoader, node: yaml.Node, inside: frozenset[int] = frozenset()
             ) -> Any:
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        if id(node) in inside:     # an alias to a node that holds it: ``&a [*a]``
            msg = "recursive alias (a node that contains itself) is not allowed"
            raise yaml.MarkedYAMLError(problem=msg, problem_mark=node.start_mark)
        inside = inside | {id(node)}
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out = PosDict()
        out.pos = _pos(node)
        out.key_pos = {}
        for knode, vnode in node.value:
            key = loader.construct_object(knode, deep=True)
            if not isinstance(key, Hashable):
                msg = f"mapping key {key!r} is not a scalar"
                raise yaml.MarkedYAMLError(problem=msg, problem_mark=knode.start_mark)
            if key in out:
                msg = f"mapping key {key!r} already defined"
                raise yaml.MarkedYAMLError(problem=msg, problem_mark=knode.start_mark)
            out[key] = _convert(loader, vnode, inside)
            out.key_pos[key] = _pos(vnode)
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = PosList(_convert(loader, n, inside) for n in node.value)
        seq.pos = _pos(node)
        seq.item_pos = [_pos(n) for n in node.value]
        return seq
    return loader.construct_object(node, deep=True)


def load(text: str) -> Any:
    """Parse one YAML document into :class:`PosDict`/:class:`PosList`/scalars (``None`` if empty).

    Raises :class:`yaml.YAMLError` (with a mark) on bad YAML.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _convert(loader, node)
    finally:
        loader.dispose()
