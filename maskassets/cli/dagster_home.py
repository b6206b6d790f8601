"""The Dagster home that `maskassets` commands use: a folder with a dagster.yaml that bounds how many
runs (one video's chain each) execute at once, so a backfill of many videos queues instead of
starting a Ray actor pool per video all at once, and runs one partition's queued runs one at a time."""

import os

DEFAULT_HOME = ".dagster_home"
MAX_CONCURRENT_RUNS = 2
_INSTANCE_YAML = f"""# Written by maskassets; edit freely (it is never overwritten).
# Runs beyond this bound wait in the queue; `dagster dev` (or `dagster-daemon run`) dequeues them.
concurrency:
  runs:
    max_concurrent_runs: {MAX_CONCURRENT_RUNS}
    # Two queued runs of one video (a sensor's and a backfill's, say) wait for each other; the second
    # then finds the first one's artifacts and reuses them.
    tag_concurrency_limits:
      - key: dagster/partition
        value:
          applyLimitPerUniqueValue: true
        limit: 1
"""


def ensure_dagster_home(path: str | None = None) -> str:
    """Create the home (``$DAGSTER_HOME``, else ./.dagster_home) with a default dagster.yaml; returns its path."""
    home = os.path.abspath(path or os.environ.get("DAGSTER_HOME") or DEFAULT_HOME)
    os.makedirs(home, exist_ok=True)
    instance_yaml = os.path.join(home, "dagster.yaml")
    if not os.path.exists(instance_yaml):
        with open(instance_yaml, "w") as stream:
            stream.write(_INSTANCE_YAML)
    return home
