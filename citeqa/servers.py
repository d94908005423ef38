"""Running servers announce themselves, so that a one-shot `citeqa ask` on the same index asks the server instead
of loading torch and the models (well under a second instead of several).

`citeqa serve` writes `CITEQA_HOME/servers/<index key>.json` (its URL, process id and index folder) while it
serves, and removes it when it stops; a record whose process is gone is stale: ignored, and removed by the next
`citeqa ask` that finds it. Only a server that anyone on this machine may ask without signing in, on its own root
path, is announced. Best effort both ways: a record that cannot be written or read means asking loads the models,
as it would without a server.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from .paths import citeqa_home

SERVERS = "servers"


def _record(index: Path) -> Path:
    key = hashlib.sha256(str(index.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return citeqa_home() / SERVERS / f"{key}.json"


def local_url(host: str, port: int) -> str:
    """The URL this machine reaches a server listening on `host`:`port` at (any-address binds: via loopback)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextlib.contextmanager
def announced(index: Path, url: str) -> Iterator[None]:
    """While the block runs, a record says that the server at `url` answers from `index`."""
    path = _record(index)
    record = {"url": url, "pid": os.getpid(), "index": str(index.resolve())}
    written = False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, path)
        written = True
    except OSError:
        pass  # not announced: asking loads the models instead
    try:
        yield
    finally:
        if written and _read(path).get("pid") == os.getpid():  # a later server on the same index keeps its own
            with contextlib.suppress(OSError):
                path.unlink()


def running_server(index: Path) -> str | None:
    """The URL of a live server announced for `index`, if there is one."""
    path = _record(index)
    record = _read(path)
    pid, url = record.get("pid"), record.get("url")
    if not isinstance(pid, int) or not isinstance(url, str) or record.get("index") != str(index.resolve()):
        return None
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        with contextlib.suppress(OSError):
            path.unlink()  # left by a server that was killed (uvicorn ends on SIGTERM by re-raising it)
        return None
    except PermissionError:
        pass  # it exists, under another user
    return url


def _read(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
