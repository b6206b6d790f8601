"""maskassets: find faces with, without or wrongly wearing masks in videos, as a Dagster asset graph."""
