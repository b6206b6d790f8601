"""The detector: built by name, loaded from a checkpoint safely, tuned for inference, run in reduced precision."""
