"""No module-level import cycle anywhere in hub, devices and sync, and the import contracts in pyproject.toml
(``[tool.importlinter]``) hold.

The graph is grimp's (import-linter's engine): every import statement of a module, at its top or inside a
function, is an edge from that module to the module it names. A cycle is a strongly connected group of modules.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Each strongly connected group of two or more modules, as one cycle through it (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.find_modules_directly_imported_by(nxt)))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        group.append(m)
                        if m == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
    return [_one_cycle(graph, g) for g in groups]


def _one_cycle(graph: grimp.ImportGraph, group: list[str]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    start, members = group[0], set(group)
    prev: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt_frontier = []
        for m in frontier:
            for n in sorted(graph.find_modules_directly_imported_by(m)):
                if n == start:
                    path = [m]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if n in members and n not in prev:
                    prev[n] = m
                    nxt_frontier.append(n)
        frontier = nxt_frontier
    return group


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph("hub", "devices", "sync", cache_dir=None)


def test_no_import_cycles():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle():
    graph = _graph()
    graph.add_import(importer="hub.protocol.ids", imported="hub.protocol.timeutil")
    graph.add_import(importer="hub.protocol.timeutil", imported="hub.protocol.epc")
    graph.add_import(importer="hub.protocol.epc", imported="hub.protocol.ids")
    assert ["hub.protocol.epc", "hub.protocol.ids", "hub.protocol.timeutil", "hub.protocol.epc"] in _cycles(graph)


def test_import_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is in the dev extra (pip install -e .[dev])"
    r = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout
