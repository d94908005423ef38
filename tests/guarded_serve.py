"""Run `citeqa ARGS...` with every connection or name lookup off this machine refused and written to a log.

The live tests start the server through this, then read the log (CITEQA_NET_LOG): it must stay empty.
"""

from __future__ import annotations

import os
import sys
from typing import Any

_LOCAL = ("127.", "::1", "localhost", "0.0.0.0", "::")


def _host(event: str, args: tuple[Any, ...]) -> str | None:
    if event == "socket.connect":
        address = args[1]
        if not isinstance(address, tuple):
            return None  # a Unix socket: a path on this machine
        host = address[0]
    elif event == "socket.getaddrinfo":
        host = args[0]
    else:
        return None
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host is None or host == "" or str(host).startswith(_LOCAL):
        return None
    return str(host)


def _guard(event: str, args: tuple[Any, ...]) -> None:
    host = _host(event, args)
    if host is None:
        return
    with open(os.environ["CITEQA_NET_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{event} {host}\n")
    raise OSError(f"outbound connection to {host} refused by the test guard")


if __name__ == "__main__":
    sys.addaudithook(_guard)
    from citeqa.cli import main

    main(sys.argv[1:], prog_name="citeqa")
