"""What a Ray cluster of several nodes needs of the paths it is given: every worker must read them."""

from __future__ import annotations

import ray


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
