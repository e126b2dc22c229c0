"""Ends a process group when the process that started it dies, however it dies (kill -9 too).

`shouhu serve` starts its Prefect server in a process group of its own and, beside it, this
watchdog with a pipe as its stdin; `serve` holds the pipe's other end. When `serve` exits for
any reason the pipe closes, the read below returns nothing, and the group is terminated (then
killed, if it has not gone within ten seconds). Run as `python -m cli.watchdog PGID`.
"""

from __future__ import annotations

import os
import signal
import sys
import time


def main() -> None:
    pgid = int(sys.argv[1])
    while os.read(0, 1024):  # blocks until the parent's end closes
        pass
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


if __name__ == "__main__":
    main()
