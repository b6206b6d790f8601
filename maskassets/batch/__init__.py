"""Work spread on Ray: the datasource over stored tables, the map_batches runner, the detector and drawing
actors, the tasks that decode and encode a video's segments."""
