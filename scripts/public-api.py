#!/usr/bin/env python3
"""Counts the public types of the library products (KVMHarness, KVMHarnessTesting) in SwiftPM's symbol graphs.

Usage: swift package dump-symbol-graph --minimum-access-level public   (writes .build/<triple>/symbolgraph)
       python3 scripts/public-api.py [symbolgraph-folder] [--list]

Counts structs, classes, enums, protocols, type aliases and actors, nested ones included, declared in the
library's own modules (not the C modules it re-exports, whose types are the kernel's)."""
import glob, json, os, sys

KINDS = {"swift.struct", "swift.class", "swift.enum", "swift.protocol", "swift.typealias", "swift.actor"}
MODULES = ["KVMHarness", "KVMHarnessTesting"]

args = [a for a in sys.argv[1:] if not a.startswith("--")]
folder = args[0] if args else glob.glob(".build/*/symbolgraph")[0]
names = []
for module in MODULES:
    path = os.path.join(folder, module + ".symbols.json")
    if not os.path.exists(path):
        continue
    for symbol in json.load(open(path))["symbols"]:
        if symbol["kind"]["identifier"] in KINDS and symbol["accessLevel"] == "public":
            names.append(module + "." + ".".join(symbol["pathComponents"]))
if "--list" in sys.argv:
    print("\n".join(sorted(names)))
print(f"public types: {len(names)}")
