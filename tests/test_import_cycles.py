"""No import cycle among bpflow's modules (deferred imports count: a function-level import that
closes a loop is still a cycle, it only hides it from the interpreter)."""

from __future__ import annotations

from collections import defaultdict

from tests.support.imports import edges, modules

#: Cycles tolerated for now, each as the set of modules in it: none (issue 10 broke the last three).
#: Keep it empty: a cycle is broken at its root (the shared piece moves to a module both sides
#: import), never listed here.
KNOWN_CYCLES: set[frozenset[str]] = set()


def _cycles() -> set[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative), plus self-loops."""
    graph: dict[str, set[str]] = defaultdict(set)
    known = modules()
    for a, b in edges():
        if b in known and a != b:
            graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()
    counter = 0
    for root in sorted(known):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members = set()
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    members.add(top)
                    if top == node:
                        break
                if len(members) > 1:
                    found.add(frozenset(members))
    return found


def test_no_new_import_cycle() -> None:
    new = sorted(sorted(c) for c in _cycles() - KNOWN_CYCLES)
    assert new == [], "import cycles (deferred imports included):\n" + "\n".join(f"  {' <-> '.join(c)}" for c in new)


def test_known_cycles_still_exist() -> None:
    gone = sorted(sorted(c) for c in KNOWN_CYCLES - _cycles())
    assert gone == [], f"broken: remove from KNOWN_CYCLES: {gone}"


def test_the_graph_is_read() -> None:
    """Guards the two tests above against passing on an empty graph."""
    assert len(edges()) > 500, "import edges read from src/"
