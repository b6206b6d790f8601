"""The `maskassets` command: update, gc, summary, export, home."""
