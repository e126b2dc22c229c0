"""Benchmark: how long a refused sign-in takes, by reason. An attacker timing the answers must not
learn whether a name exists, has a password, is locked or disabled: every refusal runs one
Argon2 verification, so the medians should agree within the noise.

    uv run python bench/login.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SHOUHU_HOME", tempfile.mkdtemp(prefix="shouhu-bench-"))

from services import accounts, setup

PASSWORD = "correct horse battery"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    setup.init(demo=True)
    accounts.set_password("sx-police", PASSWORD, must_change=False)
    accounts.set_password("sx-director-dg", PASSWORD, must_change=False)
    accounts.set_disabled("sx-director-dg", True)
    for _ in range(5):  # lock sx-police for one address
        try:
            accounts.login("sx-police", "wrong wrong wrong", "198.51.100.9")
        except accounts.AuthFailed:
            pass
    paths = {
        "unknown name": ("nobody-here", PASSWORD, "198.51.100.1"),
        "no password set": ("sx-intake", PASSWORD, "198.51.100.1"),
        "wrong password": ("sx-manager-x", PASSWORD, "198.51.100.2"),
        "locked for this address": ("sx-police", PASSWORD, "198.51.100.9"),
        "disabled account": ("sx-director-dg", PASSWORD, "198.51.100.3"),
        "right password (signed in)": ("sx-police", PASSWORD, "198.51.100.4"),
    }
    accounts.set_password("sx-manager", PASSWORD, must_change=False)
    paths["wrong password"] = ("sx-manager", "not the password", "198.51.100.2")
    print(f"sign-in answer time by reason, median and p90 of {runs} (ms):")
    for reason, args in paths.items():
        times = []
        for n in range(runs):
            source = (
                f"198.51.{n % 200}.{n % 250}" if reason in ("wrong password", "unknown name") else args[2]
            )  # stay under the locks
            started = time.perf_counter()
            try:
                accounts.login(args[0], args[1], source)
            except accounts.AuthFailed:
                pass
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        print(f"  {reason:28s} {statistics.median(times):7.1f}  {times[int(0.9 * len(times))]:7.1f}")


if __name__ == "__main__":
    main()
