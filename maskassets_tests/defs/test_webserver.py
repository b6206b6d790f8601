"""The Dagster webserver, started from workspace.yaml on loopback, serves the one asset graph."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from maskassets_tests.support.commands import start_command, stop_command
from maskassets_tests.support.graph_shape import EXPECTED_PARENTS, PARTITIONED_PER_VIDEO
from maskassets_tests.support.loopback import free_port

ASSET_NODES_QUERY = "{ assetNodes { assetKey { path } dependencyKeys { path } isPartitioned } }"
RESOURCES_QUERY = (
    "{ repositoriesOrError { ... on RepositoryConnection { nodes { allTopLevelResourceDetails "
    "{ name configuredValues { key value type } } } } } }"
)


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["data"]


@pytest.fixture
def webserver(dagster_home, tmp_path):
    port = free_port()
    settings = {"MASKASSETS_ARTIFACTS": str(tmp_path / "artifacts"), "MASKASSETS_THRESHOLD": "0.7"}
    server = start_command(
        ["dagster-webserver", "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
        log=tmp_path / "webserver.log",
        **settings,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if _graphql(port, ASSET_NODES_QUERY)["assetNodes"]:
                    break
            except (OSError, KeyError, TypeError):
                time.sleep(1)
        yield port
    finally:
        stop_command(server)


def test_the_ui_shows_one_graph_from_source_videos_to_webm(webserver):
    nodes = _graphql(webserver, ASSET_NODES_QUERY)["assetNodes"]
    graph = {
        "/".join(node["assetKey"]["path"]): sorted("/".join(dep["path"]) for dep in node["dependencyKeys"])
        for node in nodes
    }
    assert graph == EXPECTED_PARENTS
    partitioned = {"/".join(node["assetKey"]["path"]) for node in nodes if node["isPartitioned"]}
    assert partitioned == PARTITIONED_PER_VIDEO


def test_the_ui_names_the_variable_a_location_comes_from_and_shows_every_setting(webserver):
    (repository,) = _graphql(webserver, RESOURCES_QUERY)["repositoriesOrError"]["nodes"]
    shown = {
        resource["name"]: {value["key"]: (value["type"], value["value"]) for value in resource["configuredValues"]}
        for resource in repository["allTopLevelResourceDetails"]
    }
    assert shown["artifacts"]["root"] == ("ENV_VAR", "MASKASSETS_ARTIFACTS")
    # A location whose variable is unset shows its default; a setting shows the value it has in every run.
    assert shown["videos"]["location"] == ("VALUE", '"videos"')
    assert shown["drawing"]["threshold"] == ("VALUE", "0.7")
    assert shown["drawing"]["line_width"] == ("VALUE", "2")
