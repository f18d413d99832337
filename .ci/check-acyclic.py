#!/usr/bin/env python3
"""Fails when the top-level modules of a crate depend on each other in a cycle.

Usage: python3 .ci/check-acyclic.py crates/oauth-core/src

A module depends on another when its code (comments and `#[cfg(test)] mod tests` aside) names
`crate::<module>` or an item the crate root re-exports from it (`crate::Failure` is
`lifecycle`'s). Prints the module graph's cycles, if any, with one path through each.
"""

import os
import re
import sys


def strip(source: str) -> str:
    """The code without comments, strings' contents or the unit tests."""
    source = re.sub(r"//[^\n]*", "", source)
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    source = re.sub(r'"(?:[^"\\]|\\.)*"', '""', source)
    tests = re.search(r"#\[cfg\(test\)\]\s*mod tests\b", source)
    return source[: tests.start()] if tests else source


def top_module(root: str, path: str) -> str:
    parts = os.path.relpath(path, root)[: -len(".rs")].split(os.sep)
    return parts[0]


def reexports(lib: str) -> dict:
    """Item name -> module, from the crate root's `pub use module::{...}` lines."""
    found = {}
    for module, items in re.findall(r"pub(?:\(crate\))?\s+use\s+(\w+)::\{([^}]*)\}", lib):
        for item in re.findall(r"\w+", items):
            found.setdefault(item, module)
    for module, item in re.findall(r"pub(?:\(crate\))?\s+use\s+(\w+)::(\w+)\s*;", lib):
        found.setdefault(item, module)
    return found


def used_names(code: str) -> set:
    """First path segments after `crate::`, including inside `use crate::{a, b::c}`."""
    names = set(re.findall(r"\bcrate::(\w+)", code))
    for match in re.finditer(r"\bcrate::\{", code):
        depth, i = 1, match.end()
        start = i
        while depth and i < len(code):
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        inner = code[start : i - 1]
        # Top-level entries of the group: split on commas outside braces.
        depth, entry = 0, ""
        for ch in inner + ",":
            if ch == "," and depth == 0:
                head = re.match(r"\s*(\w+)", entry)
                if head:
                    names.add(head.group(1))
                entry = ""
                continue
            depth += {"{": 1, "}": -1}.get(ch, 0)
            entry += ch
    return names


def graph(root: str) -> dict:
    lib_path = os.path.join(root, "lib.rs")
    with open(lib_path, encoding="utf-8") as f:
        items = reexports(strip(f.read()))
    edges = {}
    for directory, _, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            if not name.endswith(".rs") or path == lib_path:
                continue
            module = top_module(root, path)
            with open(path, encoding="utf-8") as f:
                code = strip(f.read())
            targets = edges.setdefault(module, set())
            for used in used_names(code):
                target = items.get(used, used)
                if target != module:
                    targets.add(target)
    return {m: {t for t in ts if t in edges} for m, ts in edges.items()}


def cycles(edges: dict) -> list:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def path_within(edges: dict, component: list) -> list:
    """One cycle through the component's first module, for the message."""
    members, start = set(component), component[0]
    queue, came = [start], {start: None}
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v] & members):
            if w == start:
                route = [v]
                while came[route[-1]] is not None:
                    route.append(came[route[-1]])
                return list(reversed(route)) + [start]
            if w not in came:
                came[w] = v
                queue.append(w)
    return component


def main() -> int:
    root = sys.argv[1] if len(sys.argv) > 1 else "crates/oauth-core/src"
    edges = graph(root)
    found = cycles(edges)
    if not found:
        print(f"{root}: {len(edges)} modules, no cycle")
        return 0
    for component in found:
        print(
            f"error: {root}: modules depend on each other in a cycle: {' -> '.join(path_within(edges, component))}"
            f" ({len(component)} modules: {', '.join(component)})",
            file=sys.stderr,
        )
    return 1


if __name__ == "__main__":
    sys.exit(main())
