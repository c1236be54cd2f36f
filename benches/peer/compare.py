#!/usr/bin/env python3
"""compare.py TENANTGEN_DIR PEER_DIR: the two `clusters/` trees hold the same files, and each
file the same objects in the same order, compared as data (key order, quoting and layout may
differ). Prints what it compared; exits 1 naming every difference (the first 20) otherwise.
For scripts/bench-peer, which must not time a peer that renders something else."""
import os
import sys

import yaml

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def files(root):
    out = {}
    for d, _, names in os.walk(os.path.join(root, "clusters")):
        for n in names:
            p = os.path.join(d, n)
            out[os.path.relpath(p, root)] = p
    return out


def docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.load_all(f, Loader=Loader) if d is not None]


def first_difference(a, b, where="$"):
    """Where two values first differ, as a path into them, or None."""
    if type(a) is not type(b):
        return f"{where}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                return f"{where}.{k}: only in {'tenantgen' if k in a else 'the peer'}"
            d = first_difference(a[k], b[k], f"{where}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{where}[{i}]")
            if d:
                return d
        return None if len(a) == len(b) else f"{where}: {len(a)} items != {len(b)}"
    return None if a == b else f"{where}: {a!r} != {b!r}"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: compare.py TENANTGEN_DIR PEER_DIR")
    ours, peer = files(sys.argv[1]), files(sys.argv[2])
    problems = [f"{p}: only tenantgen renders it" for p in sorted(set(ours) - set(peer))]
    problems += [f"{p}: only the peer writes it" for p in sorted(set(peer) - set(ours))]
    objects = 0
    for p in sorted(set(ours) & set(peer)):
        a, b = docs(ours[p]), docs(peer[p])
        objects += len(a)
        d = first_difference(a, b)
        if d:
            problems.append(f"{p}: {d}")
    if problems:
        print(f"the jsonnet peer differs from tenantgen in {len(problems)} places:", file=sys.stderr)
        for p in problems[:20]:
            print(f"  {p}", file=sys.stderr)
        sys.exit(1)
    print(f"equal: {len(ours)} files, {objects} objects (YAML documents) compared as data")


if __name__ == "__main__":
    main()
