#!/usr/bin/env python3
"""Checks that includes run one way: the dependency order of the library's parts.

The order is the table between the `include-order` markers in README.md (section Layout): one row
per part (a folder under include/regula/ and src/) with the parts it may include. The check fails
when
  - a file of a part includes a public header of a part its row does not name,
  - a file includes another part's private header (src/<other part>/...),
  - a library file includes the umbrella header regula/regula.hpp,
  - a folder under include/regula/ or src/ has no row, or a row names a part that comes later
    (the table itself must run one way).
Every finding names the file, the line and the rule. `--self-test` runs the check on a small
made-up tree with one of each fault and fails unless it finds exactly those.
"""
import argparse
import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]((regula|src)/([^">/]+)(/[^">]*)?)[">]')
ROW = re.compile(r'^\|\s*`([a-z_]+)`\s*\|[^|]*\|\s*(.*?)\s*\|\s*$')


def read_table(readme):
    """Returns ([parts in order], {part: set of parts it may include}) and table errors."""
    text = open(readme, encoding="utf-8").read()
    begin, end = "<!-- include-order: begin -->", "<!-- include-order: end -->"
    if begin not in text or end not in text:
        return [], {}, [f"{readme}: no table between '{begin}' and '{end}'"]
    order, allowed, errors = [], {}, []
    for line in text.split(begin, 1)[1].split(end, 1)[0].splitlines():
        m = ROW.match(line)
        if not m:
            continue
        part, may = m.group(1), m.group(2)
        if may.strip() == "every part above":
            names = set(order)
        else:
            names = set(re.findall(r"`([a-z_]+)`", may))
        for name in sorted(names):
            if name not in order:
                errors.append(f"{readme}: the row of '{part}' names '{name}', which is not a part above it")
        order.append(part)
        allowed[part] = names
    return order, allowed, errors


def library_files(root):
    """(part, path) for every header and source of the library."""
    for base in (os.path.join(root, "include", "regula"), os.path.join(root, "src")):
        if not os.path.isdir(base):
            continue
        for part in sorted(os.listdir(base)):
            folder = os.path.join(base, part)
            if not os.path.isdir(folder):
                continue
            for dirpath, _, files in os.walk(folder):
                for f in sorted(files):
                    if f.endswith((".hpp", ".cpp", ".h")):
                        yield part, os.path.join(dirpath, f)


def check(root):
    readme = os.path.join(root, "README.md")
    order, allowed, errors = read_table(readme)
    if not order:
        return errors
    seen_parts = set()
    for part, path in library_files(root):
        rel = os.path.relpath(path, root)
        if part not in allowed:
            if part not in seen_parts:
                errors.append(f"{rel}: folder '{part}' has no row in README.md's include-order table")
            seen_parts.add(part)
            continue
        seen_parts.add(part)
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target, kind, target_part, rest = m.group(1), m.group(2), m.group(3), m.group(4)
                where = f"{rel}:{number}: #include \"{target}\""
                if kind == "regula" and rest is None:
                    if target_part == "regula.hpp":
                        errors.append(f"{where}: the library does not include the umbrella header")
                    elif target_part != "error.hpp":
                        errors.append(f"{where}: only regula/error.hpp lies directly under regula/")
                elif kind == "src":
                    if target_part != part:
                        errors.append(f"{where}: a private header of '{target_part}'; private headers stay in their part")
                elif target_part != part and target_part not in allowed[part]:
                    rule = ", ".join(p for p in order if p in allowed[part]) or "no other part"
                    errors.append(f"{where}: '{part}' may include {rule}; '{target_part}' is not among them")
    return errors


def self_test():
    with tempfile.TemporaryDirectory() as root:
        def write(rel, text):
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        write("README.md", "<!-- include-order: begin -->\n| part | job | may include |\n|---|---|---|\n"
              "| `low` | x | — |\n| `high` | y | `low` |\n| `bad` | z | `later` |\n| `later` | w | every part above |\n"
              "<!-- include-order: end -->\n")
        write("include/regula/low/a.hpp", '#include "regula/error.hpp"\n#include "regula/high/b.hpp"\n')
        write("src/low/a.cpp", '#include "regula/low/a.hpp"\n#include "src/high/private.hpp"\n')
        write("include/regula/high/b.hpp", '#include "regula/low/a.hpp"\n#include "regula/regula.hpp"\n')
        write("src/stray/c.cpp", '#include "regula/low/a.hpp"\n')
        found = check(root)
        expected = [
            "the row of 'bad' names 'later'",
            "include/regula/low/a.hpp:2: #include \"regula/high/b.hpp\": 'low' may include no other part",
            "src/low/a.cpp:2: #include \"src/high/private.hpp\": a private header of 'high'",
            "include/regula/high/b.hpp:2: #include \"regula/regula.hpp\": the library does not include",
            "folder 'stray' has no row",
        ]
        missing = [e for e in expected if not any(e in f for f in found)]
        if missing or len(found) != len(expected):
            print("self-test failed; expected findings:", *expected, "found:", *found, sep="\n  ")
            return 1
        print(f"self-test: the check found the {len(expected)} planted faults and nothing else")
        return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=os.path.join(os.path.dirname(__file__), ".."))
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    errors = check(os.path.abspath(args.root))
    for e in errors:
        print(e)
    if errors:
        print(f"include order: {len(errors)} include(s) run against README.md's Layout table")
        return 1
    print("include order: every include of include/regula/ and src/ follows README.md's Layout table")
    return 0


if __name__ == "__main__":
    sys.exit(main())
