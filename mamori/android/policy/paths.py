"""Paths into a policy ("passwordPolicies[0].passwordQuality"): read, write, and take out."""

from __future__ import annotations

import itertools
import re
from typing import Any

from mamori.android.policy.fields import ABSENT

_TOKEN = re.compile(r"([^.\[\]]+)|\[([0-9]+)\]")


def tokens(path: str) -> list[str | int]:
    """ "a.b[0].c" → ["a", "b", 0, "c"]."""
    return [int(index) if index else key for key, index in _TOKEN.findall(path)]


def get(tree: Any, path: str) -> Any:
    """The value at ``path``, or ABSENT."""
    for token in tokens(path):
        if isinstance(token, int):
            if not isinstance(tree, list) or token >= len(tree):
                return ABSENT
        elif not isinstance(tree, dict) or token not in tree:
            return ABSENT
        tree = tree[token]
    return tree


def put(tree: dict[str, Any], path: str, value: Any) -> bool:
    """Set ``value`` at ``path``, making the objects and lists on the way (a list gets empty
    objects up to the index). False, changing nothing, when something on the way has another
    shape (a string where an object is needed)."""
    steps = tokens(path)
    node: Any = tree
    for token, following in itertools.pairwise(steps):
        empty: Any = [] if isinstance(following, int) else {}
        if isinstance(token, int):
            if not isinstance(node, list):
                return False
            while len(node) <= token:
                node.append({})
            if not isinstance(node[token], type(empty)):
                return False
        else:
            if not isinstance(node, dict):
                return False
            node.setdefault(token, empty)
            if not isinstance(node[token], type(empty)):
                return False
        node = node[token]
    last = steps[-1]
    if isinstance(last, int) or not isinstance(node, dict):
        return False
    node[last] = value
    return True


def pop(tree: dict[str, Any], path: str) -> None:
    """Take out the value at ``path`` (if there), then the objects and lists on the way that this
    left empty; a list's emptied entry goes only if it was the last (the others keep their index)."""
    steps = tokens(path)
    trail: list[tuple[Any, str | int]] = []
    node: Any = tree
    for token in steps[:-1]:
        if get(node, f"[{token}]" if isinstance(token, int) else str(token)) is ABSENT:
            return
        trail.append((node, token))
        node = node[token]
    if not isinstance(node, dict) or steps[-1] not in node:
        return
    del node[steps[-1]]
    for parent, token in reversed(trail):
        child = parent[token]
        if child:
            return
        if isinstance(parent, list):
            if token != len(parent) - 1:
                return
            parent.pop()
        else:
            del parent[token]
