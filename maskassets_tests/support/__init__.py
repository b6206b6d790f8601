"""What the tests share: clips, servers on loopback, runs of the real job and commands."""
