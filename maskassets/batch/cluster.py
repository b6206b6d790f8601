"""What joining a Ray cluster needs: a head that answers at the address given, and, with several nodes, paths
that every worker can read."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import ray

#: Seconds between attempts to reach a head that does not answer yet.
_RETRY_SECONDS = 1.0
#: Addresses this process waited for in vain: each later video tries once instead of waiting again, so a wrong
#: address fails a folder of videos in seconds, not a wait each.
_GIVEN_UP: set[str] = set()


class ClusterUnreachableError(ConnectionError):
    """No Ray head answers at the address a stage was told to join."""


def require_head_answering(address: str, *, wait_seconds: float) -> None:
    """Wait up to ``wait_seconds`` for something to accept connections at ``address`` (``host:port``, or
    ``ray://host:port`` for Ray Client; ``auto`` is left to Ray), then refuse it, naming the fix; once only per
    process. Ray itself retries an address where nothing listens for minutes, logging only its own timeouts."""
    host, separator, port = address.removeprefix("ray://").rpartition(":")
    if not separator or not port.isdigit():
        return
    port_option = "--ray-client-server-port" if address.startswith("ray://") else "--port"
    started = time.monotonic()
    deadline = started + (0 if address in _GIVEN_UP else wait_seconds)
    while True:
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=_RETRY_SECONDS):
                _GIVEN_UP.discard(address)
                return
        except OSError as error:
            if time.monotonic() + _RETRY_SECONDS > deadline:
                _GIVEN_UP.add(address)
                raise ClusterUnreachableError(
                    f"No Ray cluster answers at {address} (MASKASSETS_RAY_ADDRESS), tried for "
                    f"{time.monotonic() - started:.0f} s: {error.strerror or error}. Start its head there (`ray "
                    f"start --head {port_option}={port}`), correct the address, or unset MASKASSETS_RAY_ADDRESS to run "
                    "a local Ray."
                ) from None
            time.sleep(_RETRY_SECONDS)


@contextmanager
def hint_if_joining_lingers(address: str, *, after_seconds: float, warn: Callable[[str], None]) -> Iterator[None]:
    """Around a join of the cluster at ``address``: if it has not returned after ``after_seconds``, ``warn`` with
    what to check. Something that accepts connections but is not a Ray head (its dashboard, Ray Client's port)
    keeps Ray retrying for minutes, saying only that it timed out."""
    timer = threading.Timer(
        after_seconds,
        warn,
        args=(
            f"still joining the Ray cluster at {address} after {after_seconds:g} s; Ray retries for minutes where "
            "something other than a Ray head answers. Check that MASKASSETS_RAY_ADDRESS names the head's port "
            "(6379 unless `ray start --head --port` chose another), not its dashboard (8265) or Ray Client's port "
            "(10001, which takes ray://).",
        ),
    )
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def alive_nodes() -> list[str]:
    return sorted(node["NodeID"] for node in ray.nodes() if node.get("Alive"))


def require_reachable_from_every_node(*, artifact_root: str | None, videos_location: str | None) -> None:
    """Refuse local paths on a cluster of more than one node: workers on other nodes read and write them, and
    would find another machine's disk (or nothing) there. ``None`` skips a path (declared shared)."""
    local = {
        name: location
        for name, location in (("artifact root", artifact_root), ("videos folder", videos_location))
        if location is not None and "://" not in location
    }
    nodes = alive_nodes()
    if local and len(nodes) > 1:
        named = ", ".join(f"the {name} {location}" for name, location in local.items())
        raise ValueError(
            f"The Ray cluster has {len(nodes)} nodes, but {named} is a local path its workers on other nodes "
            "cannot read. Set `artifacts.root` and `videos.location` to s3:// locations, or use folders every node "
            "mounts at the same path and turn on `artifacts.shared_by_all_nodes`."
        )
