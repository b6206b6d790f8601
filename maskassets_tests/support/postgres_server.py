"""A PostgreSQL server of Debian's `postgresql` package, started on loopback for one test and removed after it."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from maskassets_tests.support.loopback import free_port

_USER = "maskassets"
_DATABASE = "dagster"


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server in a fresh folder; yields the URL of an empty database on it."""
    binaries = _binaries()
    # Its own folder under /tmp: pytest's are open to their owner only, and the server may run as another user.
    folder = Path(tempfile.mkdtemp(prefix="maskassets-postgres-"))
    # PostgreSQL refuses to run as root: then it runs as the package's own `postgres` user.
    as_server_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_server_user:
        shutil.chown(folder, "postgres")
    data, port = folder / "data", free_port()
    run = [*as_server_user, str(binaries / "pg_ctl"), "-D", str(data)]
    subprocess.run(
        [*as_server_user, str(binaries / "initdb"), "-D", str(data), "-U", _USER, "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    subprocess.run(
        [*run, "-o", options, "-l", str(folder / "server.log"), "-w", "start"], check=True, capture_output=True
    )
    try:
        subprocess.run(
            [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", _USER, _DATABASE], check=True
        )
        yield f"postgresql://{_USER}@127.0.0.1:{port}/{_DATABASE}"
    finally:
        subprocess.run([*run, "-m", "fast", "-w", "stop"], check=True, capture_output=True)
        shutil.rmtree(folder)


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: apt-get install -y postgresql (.ci/run does)")
    return Path(found[-1]).parent
