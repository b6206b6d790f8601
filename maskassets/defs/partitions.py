import dagster as dg

#: One partition per source video; keys come from maskassets.storage.partition_keys.
video_partitions = dg.DynamicPartitionsDefinition(name="videos")
