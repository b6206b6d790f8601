"""What a person sees, in a real browser (Debian's Chromium driven by Playwright): the Dagster UI that
`dagster dev` serves for two published videos, and the output WebM playing in a <video> element."""

from __future__ import annotations

import functools
import json
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from maskassets.batch.stored_frames import iter_stored_frames
from maskassets.defs.jobs import STAGES
from maskassets.detection.box_drawing import DEFAULT_CLASS_COLORS
from maskassets.model.detector_spec import DEFAULT_CLASS_NAMES
from maskassets.storage import schema
from maskassets.storage.schema import FRAMES_TABLE, PREDICTIONS_TABLE
from maskassets_tests.support.commands import REPO_ROOT, start_command, stop_command
from maskassets_tests.support.loopback import free_port
from maskassets_tests.support.pipeline_run import stored_table
from maskassets_tests.support.published import CLIPS, LINE_WIDTH, WITH_SOUND

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = REPO_ROOT / "maskassets_tests" / "screenshots"
ASSETS = list(STAGES)


@pytest.fixture(scope="module")
def dagster_ui(published_videos, tmp_path_factory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("dagster_dev") / "dagster_dev.log"
    server = start_command(
        ["dagster", "dev", "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"], log=log, **published_videos.env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_asset_graph(url, log)
        yield url
    finally:
        stop_command(server)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    # Dagster greets a new browser with a newsletter dialog that covers the page.
    page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click())
    yield page
    context.close()


def test_the_asset_graph_lists_every_asset_and_the_partitions_of_both_videos(dagster_ui, page):
    page.goto(f"{dagster_ui}/asset-groups/video_pipeline")
    for asset in [*ASSETS, "source_video"]:
        expect(page.get_by_text(asset, exact=True).first).to_be_visible(timeout=60_000)
    _screenshot(page, "asset-graph.png")

    page.goto(f"{dagster_ui}/assets/video_frames?view=partitions")
    expect(page.get_by_text("Materialized (2)")).to_be_visible(timeout=60_000)
    for video in CLIPS:
        expect(page.get_by_text(video, exact=True).first).to_be_visible()
    _screenshot(page, "video-frames-partitions.png")


def test_the_checks_tab_shows_each_check_of_an_asset_passing_with_what_it_found(dagster_ui, page):
    page.goto(f"{dagster_ui}/assets/frame_predictions?view=checks")
    for check in ("frames_match_video_frames", "detections_valid"):
        expect(page.get_by_text(check, exact=True).first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Succeeded", exact=True)).to_have_count(2)
    page.get_by_text("detections_valid", exact=True).first.click()
    expect(page.get_by_text("Passed", exact=True)).to_be_visible()
    # The latest materialization is b.mp4's, 128x96.
    expect(page.get_by_text(re.compile(r"^\d+ detections, all inside the 128x96 frame$")).first).to_be_visible()
    _screenshot(page, "frame_predictions-checks.png")


@pytest.mark.parametrize(
    ("asset", "entry", "width"),
    [("video_frames", "contact_sheet", 4 * 160), ("mask_summary", "timeline", 800), ("output_webm", "poster", 128)],
)
def test_an_asset_page_shows_its_preview_image(dagster_ui, page, asset, entry, width):
    page.goto(f"{dagster_ui}/assets/{asset}")
    page.locator("tr", has_text=entry).get_by_text("[Show Markdown]").click()
    image = page.locator(f"img[alt='{entry}']")
    expect(image).to_be_visible(timeout=30_000)
    # The latest materialization is b.mp4's (published second); the poster has the frame's own width.
    assert image.evaluate("img => img.complete && img.naturalWidth") == width
    _screenshot(page, f"{asset}-{entry}.png")


def test_the_output_webm_plays_with_the_source_duration_and_shows_the_class_colour_at_a_stored_box(
    published_videos, browser
):
    store = published_videos.store
    frame_index, fps = 6, 12.0
    frames = stored_table(store, "video_frames", "a.mp4", FRAMES_TABLE).select([schema.PTS_SECONDS])
    source_duration = frames.column(0)[-1].as_py() + 1 / fps
    webm = published_videos.store.require_manifest("output_webm", "a.mp4")
    with _serving(Path(store.root.path)) as base_url:
        page = browser.new_page()
        page.goto(base_url)
        played = page.evaluate(
            _PLAY_AND_GRAB,
            {"src": f"{base_url}/output_webm/a.mp4/{webm.directory}/annotated.webm", "time": (frame_index + 0.5) / fps},
        )
        _screenshot(page, "output-webm-frame.png")
        page.close()

    assert played["error"] is None
    assert played["ended"] and played["currentTime"] == pytest.approx(source_duration, abs=1 / fps)
    assert played["duration"] == pytest.approx(source_duration, abs=1 / fps)
    frame = np.array(played["pixels"], dtype=np.uint8).reshape(played["height"], played["width"], 4)[..., :3]

    name, points = _outline_of_the_box_drawn_last(published_videos, frame_index, frame.shape)
    expected = np.array(DEFAULT_CLASS_COLORS[name])
    # Only where the source frame is far from that colour, so the colour can only come from the drawing.
    frames = store.require_manifest("video_frames", "a.mp4")
    (source_frame,) = iter_stored_frames(store, frames, first_frame=frame_index, end_frame=frame_index + 1)
    source = source_frame.rgb
    points = points[np.abs(source[points[:, 1], points[:, 0]].astype(int) - expected).sum(axis=1) > 150]
    assert len(points) >= 10
    colours = frame[points[:, 1], points[:, 0]].astype(int)
    nearest = [
        min(DEFAULT_CLASS_COLORS, key=lambda c: np.abs(colour - DEFAULT_CLASS_COLORS[c]).sum()) for colour in colours
    ]
    assert nearest.count(name) >= 0.9 * len(points), (name, colours.tolist())
    assert np.median(np.abs(colours - expected).sum(axis=1)) < 90


def test_the_output_webm_plays_the_source_sound_in_chromium(published_videos, browser):
    store = published_videos.store
    webm = store.require_manifest("output_webm", WITH_SOUND)
    with _serving(Path(store.root.path)) as base_url:
        page = browser.new_page()
        page.goto(base_url)
        played = page.evaluate(
            _PLAY_AND_COUNT_AUDIO, f"{base_url}/output_webm/{WITH_SOUND}/{webm.directory}/annotated.webm"
        )
        page.close()

    assert played["error"] is None
    assert played["ended"]
    # Chromium's count of the audio bytes it decoded while playing: the <video> has sound to play.
    assert played["audioBytes"] > 0


def _outline_of_the_box_drawn_last(published, frame_index: int, shape) -> tuple[str, np.ndarray]:
    """The class of the box the annotator draws last on that frame (the best score; among equals the last
    stored), and points on its outline that no other drawing can cover."""
    predictions = stored_table(published.store, "frame_predictions", "a.mp4", PREDICTIONS_TABLE).to_pylist()
    row = predictions[frame_index]
    shown = [i for i, score in enumerate(row[schema.SCORES]) if score > 0.5]
    assert shown, "the random checkpoint drew no box on this frame"
    last = max(shown, key=lambda i: (row[schema.SCORES][i], i))
    x1, y1, x2, y2 = (round(v) for v in row[schema.BOXES][last])
    height, width = shape[:2]
    margin = LINE_WIDTH
    points = [(x, y2) for x in range(x1 + margin, x2 - margin) if y2 < height - 2]
    points += [(x, y) for y in range(y1 + margin, y2 - margin) for x in (x1, x2) if 2 <= x < width - 2]
    assert points, (x1, y1, x2, y2)
    return DEFAULT_CLASS_NAMES[row[schema.LABELS][last]], np.array(points)


_PLAY_AND_GRAB = """
async ({src, time}) => {
  const blob = await (await fetch(src)).blob();
  const video = document.createElement('video');
  video.muted = true;
  video.src = URL.createObjectURL(blob);
  document.body.appendChild(video);
  const failed = new Promise((_, reject) => video.addEventListener('error', () => reject(video.error)));
  try {
    await Promise.race([new Promise(ok => video.addEventListener('loadedmetadata', ok, {once: true})), failed]);
    const duration = video.duration;
    const ended = new Promise(ok => video.addEventListener('ended', ok, {once: true}));
    await video.play();
    await Promise.race([ended, failed]);
    const currentTime = video.currentTime;
    video.currentTime = time;
    await new Promise(ok => video.addEventListener('seeked', ok, {once: true}));
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const context = canvas.getContext('2d');
    context.drawImage(video, 0, 0);
    const pixels = Array.from(context.getImageData(0, 0, canvas.width, canvas.height).data);
    return {error: null, duration, ended: video.ended || currentTime >= duration, currentTime,
            width: canvas.width, height: canvas.height, pixels};
  } catch (error) {
    return {error: String(error && (error.message || error.code))};
  }
}
"""


_PLAY_AND_COUNT_AUDIO = """
async (src) => {
  const video = document.createElement('video');
  video.muted = true;
  video.src = src;
  document.body.appendChild(video);
  const failed = new Promise((_, reject) => video.addEventListener('error', () => reject(video.error)));
  try {
    const ended = new Promise(ok => video.addEventListener('ended', ok, {once: true}));
    await video.play();
    await Promise.race([ended, failed]);
    return {error: null, ended: video.ended, audioBytes: video.webkitAudioDecodedByteCount};
  } catch (error) {
    return {error: String(error && (error.message || error.code))};
  }
}
"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


def _screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


@contextmanager
def _serving(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on loopback while the block runs; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _wait_for_asset_graph(url: str, log: Path) -> None:
    query = json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(f"{url}/graphql", data=query, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                if json.loads(response.read())["data"]["assetNodes"]:
                    return
        except (OSError, KeyError, TypeError, ValueError):
            time.sleep(1)
    raise AssertionError(f"dagster dev did not serve the asset graph in 180 s:\n{log.read_text()[-3000:]}")
