#!/usr/bin/env python3
"""The declared rust-version is true: at least the highest rust-version among the normal
(non-dev) dependencies of every published crate. Reads `cargo metadata` on stdin."""
import json
import sys

meta = json.load(sys.stdin)
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
members = set(meta["workspace_members"])


def version(text):
    return tuple(int(part) for part in text.split("."))


def normal_closure(root):
    seen, stack = set(), [root]
    while stack:
        for dep in nodes[stack.pop()]["deps"]:
            kinds = {k["kind"] for k in dep["dep_kinds"]}
            if (None in kinds or "build" in kinds) and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                stack.append(dep["pkg"])
    return seen


failed = False
for member in sorted(members, key=lambda m: packages[m]["name"]):
    package = packages[member]
    if package.get("publish") == []:
        continue
    declared = package.get("rust_version")
    if not declared:
        print(f"error: {package['name']} declares no rust-version")
        failed = True
        continue
    needed = max(
        ((version(packages[d]["rust_version"]), packages[d]["name"])
         for d in normal_closure(member) if packages[d].get("rust_version")),
        default=((0,), "-"),
    )
    status = "ok" if version(declared) >= needed[0] else "TOO LOW"
    print(f"{package['name']}: declares {declared}, its dependencies need {'.'.join(map(str, needed[0]))} ({needed[1]}): {status}")
    failed |= status != "ok"
sys.exit(1 if failed else 0)
