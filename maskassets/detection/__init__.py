"""Detections as data and the rules on them (what is shown, what is background), faces tracked across frames,
boxes drawn."""
