"""``python -m benchmarks [name ...]``: run every section (or the named ones) and print its table.

To add a section, append ``(name, callable)`` to ``SECTIONS``; the callable takes no argument and
prints its own table. ``--quick`` sets ``NTPVERIFY_BENCH_QUICK=1``, which sections with a smaller
variant read (scale.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from . import corpus, crosscheck, gd_speed, property_times, scale, solve_speed

SECTIONS: list[tuple[str, Callable[[], None]]] = [
    ("gd", gd_speed.main),
    ("solve", solve_speed.main),
    ("properties", property_times.main),
    ("scale", scale.main),
    ("crosscheck", crosscheck.main),
    ("corpus", corpus.main),
]


def main(argv: list[str]) -> int:
    """Run the sections named in ``argv`` (all if none; ``--quick`` for the small variants); 2 on an
    unknown name."""
    if "--quick" in argv:
        os.environ["NTPVERIFY_BENCH_QUICK"] = "1"
        argv = [a for a in argv if a != "--quick"]
    names = [name for name, _ in SECTIONS]
    unknown = sorted(set(argv) - set(names))
    if unknown:
        print(f"unknown section(s) {unknown}; known: {names}", file=sys.stderr)
        return 2
    for name, run in SECTIONS:
        if not argv or name in argv:
            print(f"== {name} ==")
            run()
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
