"""Wall time of each property under the ci profile (``pytest properties/ --durations=0``)."""

from __future__ import annotations

import os
import subprocess
import sys


def main() -> None:
    env = {**os.environ, "CI": "true", "OPENBLAS_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "pytest", "properties", "-q", "-n", "2", "-p", "no:cacheprovider",
           "--hypothesis-profile", "ci", "--durations=0"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env).stdout
    lines = [ln for ln in out.splitlines() if " call " in ln or ln.startswith("=") and "passed" in ln]
    print("\n".join(lines))
