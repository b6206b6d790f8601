"""How frame images are stored in parquet: lossless PNG at compression level 1.

Chosen by `python bench/frame_codec.py` (README, design notes): 2.4-5.7x smaller than raw RGB at an
encode cost that is under 1 % of one Faster R-CNN forward on the same frame.
"""

import cv2
import numpy as np

_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1]


def encode_frame(rgb: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), _PNG_PARAMS)
    if not ok:
        raise ValueError(f"could not PNG-encode a frame of shape {rgb.shape}")
    return encoded.tobytes()


def decode_frame(png: bytes) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("a stored frame is not a decodable PNG")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
