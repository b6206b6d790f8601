"""Video and image I/O: probing, decoding and encoding with PyAV, the stored frame codec, frame times, sound,
previews and plots."""
