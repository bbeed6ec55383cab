#!/usr/bin/env python3
"""Finds import loops between the modules of one Rust crate.

    scripts/module_cycles.py crates/domain/src [--exclude-tests]

A loop is module A using module B while B uses A, directly or through a chain. The
nodes are files (an inline `mod x { ... }` belongs to its file); an edge is any path in
the code of one file that names an item of another: `use crate::a::b`, `crate::a::f()`,
`super::x`, `self::x`, `$crate::x`, and paths that start with the name of a child module
(`use context::Warning` in a mod.rs). A path is attributed to the longest module prefix
it names, so `use super::context::Warning` is an edge to context.rs, while
`use super::Warning` (a re-export) is an edge to the parent's file. Declaring `mod x;`
is not a use. Comments, doc links and string literals are ignored.

Prints each loop (its modules, one cycle through them, and the lines that make its
edges) and exits 1 when there is any, else prints nothing but a summary and exits 0.
`--exclude-tests` leaves out `#[cfg(test)] mod ...` (test-only uses); `--edges` prints
the whole graph as well. `--layered` lets a module use its own submodules (a parent that
re-exports or calls its children contains them, it does not depend on them as a peer), so
only loops through a child's use of its parent and a sibling, or between siblings, count.
"""

import argparse
import re
import sys
from pathlib import Path

# ---- Reading the source ----------------------------------------------------------------

CHAR_LITERAL = re.compile(r"'(?:\\u\{[0-9a-fA-F]+\}|\\x[0-9a-fA-F]{2}|\\.|[^\\'\n])'")
RAW_STRING = re.compile(r'b?r(#*)"')


def blank(text):
    """`text` with comments and string and char literals blanked out (newlines kept)."""
    out = []
    i, n = 0, len(text)

    def skip_to(j):
        out.append(re.sub(r"[^\n]", " ", text[i:j]))
        return j

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = skip_to(n if j < 0 else j)
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            i = skip_to(j)
        elif (raw := RAW_STRING.match(text, i)) and (i == 0 or not is_ident(text[i - 1])):
            end = text.find('"' + raw.group(1), raw.end())
            i = skip_to(n if end < 0 else end + 1 + len(raw.group(1)))
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            i = skip_to(j + 1)
        elif c == "'" and (literal := CHAR_LITERAL.match(text, i)):
            i = skip_to(literal.end())
        else:
            out.append(c)
            i += 1
    return "".join(out)


def is_ident(c):
    return c.isalnum() or c == "_"


TOKEN = re.compile(
    r"""
    (?P<attr>\#!?\[(?:[^\[\]]|\[[^\[\]]*\])*\])
  | (?P<mod>\b(?:pub(?:\s*\([^)]*\))?\s+)?mod\s+(?P<name>(?:r\#)?\w+)\s*(?P<end>[;{]))
  | (?P<use>\buse\s+(?P<tree>[^;]+);)
  | (?P<path>(?<![\w:])\$?\w+(?:\s*::\s*\w+)+)
  | (?P<open>\{)
  | (?P<close>\})
    """,
    re.X,
)


def use_paths(tree):
    """The paths a `use` tree names: `a::{b, c::{d, self}}` gives a::b, a::c::d, a::c."""
    tree = re.sub(r"\s+as\s+\w+", "", tree)
    tree = re.sub(r"\s+", "", tree).lstrip(":")
    return [path for path in expand(tree) if path]


def expand(tree, prefix=()):
    if "{" not in tree:
        segments = [s for s in tree.split("::") if s]
        if segments and segments[-1] == "self":
            segments = segments[:-1]
        if segments and segments[-1] == "*":
            segments = segments[:-1]
        return [prefix + tuple(segments)]
    head, _, rest = tree.partition("{")
    inner = rest[: rest.rfind("}")]
    head_segments = tuple(s for s in head.split("::") if s)
    paths = []
    for part in split_top_level(inner):
        paths.extend(expand(part, prefix + head_segments))
    return paths


def split_top_level(text):
    parts, depth, start = [], 0, 0
    for at, c in enumerate(text):
        depth += {"{": 1, "}": -1}.get(c, 0)
        if c == "," and depth == 0:
            parts.append(text[start:at])
            start = at + 1
    parts.append(text[start:])
    return [p for p in parts if p]


# ---- The module tree -------------------------------------------------------------------


class Crate:
    def __init__(self, src, exclude_tests):
        self.src = src
        self.exclude_tests = exclude_tests
        self.modules = {}  # module path (tuple) -> file
        self.references = []  # (file, module path it is in, segments, line, text)

    def read(self, file, module, child_dir):
        """Reads `file`, the module at `module`, whose `mod x;` children are in `child_dir`."""
        self.modules[module] = file
        text = blank(file.read_text(encoding="utf-8"))
        depth = 0
        inline = []  # (module path, child dir, depth its block closes at, skipped)
        test_attribute = False
        for match in TOKEN.finditer(text):
            kind = match.lastgroup if match.lastgroup in ("attr", "open", "close") else None
            kind = kind or next(k for k in ("mod", "use", "path") if match.group(k))
            here, here_dir, skipped = (inline[-1][0], inline[-1][1], inline[-1][3]) if inline else (module, child_dir, False)
            line = text.count("\n", 0, match.start()) + 1
            if kind == "attr":
                test_attribute = test_attribute or bool(re.search(r"cfg\s*\(\s*test\s*\)", match.group()))
                continue
            is_test, test_attribute = test_attribute, False
            if kind == "open":
                depth += 1
            elif kind == "close":
                depth -= 1
                if inline and inline[-1][2] == depth:
                    inline.pop()
            elif kind == "mod":
                name = match.group("name").removeprefix("r#")
                skip = skipped or (is_test and self.exclude_tests)
                if match.group("end") == "{":
                    inline.append((here + (name,), here_dir / name, depth, skip))
                    depth += 1
                    if not skip:
                        self.modules[here + (name,)] = file
                elif not skip:
                    self.read_child(here + (name,), here_dir, name)
            elif skipped:
                continue
            elif kind == "use":
                for segments in use_paths(match.group("tree")):
                    self.references.append((file, here, segments, line, "use " + "::".join(segments)))
            else:
                segments = tuple(re.sub(r"\s+", "", match.group("path")).split("::"))
                self.references.append((file, here, segments, line, "::".join(segments)))

    def read_child(self, module, directory, name):
        for file, child_dir in ((directory / f"{name}.rs", directory / name), (directory / name / "mod.rs", directory / name)):
            if file.is_file():
                self.read(file, module, child_dir)
                return
        print(f"warning: no file for mod {'::'.join(('crate',) + module)} in {directory}", file=sys.stderr)

    def resolve(self, here, segments):
        """The module a path names the item of (the longest module prefix), or None."""
        first, rest = segments[0], list(segments[1:])
        if first in ("crate", "$crate"):
            absolute = rest
        elif first == "self":
            absolute = list(here) + rest
        elif first == "super":
            base = list(here)
            parts = list(segments)
            while parts and parts[0] == "super":
                if not base:
                    return None
                base.pop()
                parts.pop(0)
            absolute = base + parts
        elif here + (first,) in self.modules:
            absolute = list(here) + list(segments)
        else:
            return None
        for length in range(len(absolute), -1, -1):
            if tuple(absolute[:length]) in self.modules:
                return tuple(absolute[:length])
        return None

    def edges(self, layered=False):
        """file -> {file it uses: [(line, text), ...]}"""
        graph = {file: {} for file in set(self.modules.values())}
        for file, here, segments, line, text in self.references:
            target = self.resolve(here, segments)
            if target is None:
                continue
            if layered and target[: len(here)] == here and len(target) > len(here):
                continue
            target_file = self.modules[target]
            if target_file != file:
                graph[file].setdefault(target_file, []).append((line, text))
        return graph


# ---- Loops -----------------------------------------------------------------------------


def strongly_connected(graph):
    index, low, on_stack, stack, components = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [c for c in components if len(c) > 1]


def one_cycle(graph, component):
    """A shortest cycle through the component's first member."""
    start, members = component[0], set(component)
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for target in sorted(graph[path[-1]]):
            if target == start:
                return path + [start]
            if target in members and target not in seen:
                seen.add(target)
                paths.append(path + [target])
    return [start]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", type=Path, help="the crate's src directory (with lib.rs or main.rs)")
    parser.add_argument("--exclude-tests", action="store_true", help="leave out #[cfg(test)] modules")
    parser.add_argument("--edges", action="store_true", help="also print every edge, file by file")
    parser.add_argument("--layered", action="store_true", help="a module may use its own submodules")
    args = parser.parse_args()
    roots = [args.src / name for name in ("lib.rs", "main.rs") if (args.src / name).is_file()]
    if not roots:
        parser.error(f"no lib.rs or main.rs in {args.src}")
    found = 0
    for root in roots:
        crate = Crate(args.src, args.exclude_tests)
        crate.read(root, (), args.src)
        graph = crate.edges(args.layered)
        name = {}  # a file's name: the shortest module path it holds
        for module, file in sorted(crate.modules.items(), key=lambda item: -len(item[0])):
            name[file] = "::".join(("crate",) + module)
        show = lambda file: f"{name[file]} ({file.relative_to(args.src)})"
        if args.edges:
            for source in sorted(graph, key=name.get):
                targets = ", ".join(sorted(name[t] for t in graph[source]))
                print(f"{name[source]} uses {targets or 'nothing in the crate'}")
        for component in strongly_connected(graph):
            found += 1
            print(f"loop {found}: {', '.join(show(f) for f in component)}")
            print("  cycle: " + " -> ".join(name[f] for f in one_cycle(graph, component)))
            for source in component:
                for target in sorted(t for t in graph[source] if t in component):
                    line, text = graph[source][target][0]
                    more = len(graph[source][target]) - 1
                    also = f" (and {more} more)" if more else ""
                    print(f"  {source.relative_to(args.src)}:{line} {text} -> {name[target]}{also}")
        print(f"{root}: {len(set(crate.modules.values()))} files, {sum(len(t) for t in graph.values())} edges", file=sys.stderr)
    if found:
        print(f"{found} module loop(s)", file=sys.stderr)
        return 1
    print(f"no module loops in {args.src}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
