"""The artifact store and what it holds: manifests and commits, sharded parquet tables and their schemas, the
videos folder and its partition keys, versions, checks, garbage collection."""
