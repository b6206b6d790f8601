"""The `maskassets` command: `update` brings every video in the folder up to date, building only what is missing
or stale; `gc`, `summary`, `export` and `home` read or tidy what it stored."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from maskassets.cli.dagster_home import ensure_dagster_home
from maskassets.cli.summary_report import stored_summary, summary_lines
from maskassets.cli.update import update_all
from maskassets.cli.update_output import StageLines
from maskassets.defs.garbage_collection import busy_partitions
from maskassets.defs.resources import ArtifactStoreResource
from maskassets.defs.settings import Settings, name_variables
from maskassets.detection.frame_detections import frames_with_detections
from maskassets.stages import detections_export as export_stage
from maskassets.stages import face_tracks as tracks_stage
from maskassets.stages import video_frames as frames_stage
from maskassets.storage.errors import StorageAccessError
from maskassets.storage.garbage import collect_garbage
from maskassets.storage.schema import TRACKS_TABLE
from maskassets.storage.sources import MissingVideoFolderError

#: Command-line options that override a resource field, where a command has them.
_OPTIONS = {
    "videos": ("videos", "location"),
    "artifacts": ("artifacts", "root"),
    "checkpoint": ("detector", "checkpoint_uri"),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="maskassets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    update = commands.add_parser("update", help="materialize every video's missing or stale stages")
    update.add_argument("--videos", help="folder or s3:// prefix of videos (default: $MASKASSETS_VIDEOS or ./videos)")
    update.add_argument("--artifacts", help="artifact root (default: $MASKASSETS_ARTIFACTS or ./artifacts)")
    update.add_argument("--checkpoint", help="checkpoint path or URI (default: $MASKASSETS_CHECKPOINT)")
    update.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="RESOURCE.FIELD=VALUE",
        help="override a setting for this update, e.g. drawing.threshold=0.7 (repeatable; README lists them)",
    )
    gc = commands.add_parser(
        "gc", help="remove artifact folders no manifest names, older than the grace period, and print what it freed"
    )
    gc.add_argument("--artifacts", help="artifact root (default: $MASKASSETS_ARTIFACTS or ./artifacts)")
    gc.add_argument(
        "--grace-hours",
        type=float,
        help="keep folders changed this recently (default: $MASKASSETS_GC_GRACE_HOURS or 24)",
    )
    gc.add_argument("--dry-run", action="store_true", help="print what would be freed, remove nothing")
    commands.add_parser("home", help="create the Dagster home (with its dagster.yaml) and print its path")
    summary = commands.add_parser("summary", help="print every video's per-class summary (videos_mask_summary)")
    summary.add_argument("--artifacts", help="artifact root (default: $MASKASSETS_ARTIFACTS or ./artifacts)")
    export = commands.add_parser("export", help="write one video's stored detections as COCO-style JSON or CSV")
    export.add_argument("video", help="the video's name in the videos folder (its partition key)")
    export.add_argument("--format", choices=sorted(export_stage.FILES), default="coco", dest="export_format")
    export.add_argument("--out", help="file to write (default: <video>.coco.json or <video>.csv here; - for stdout)")
    export.add_argument("--artifacts", help="artifact root (default: $MASKASSETS_ARTIFACTS or ./artifacts)")
    args = parser.parse_args(argv)
    try:
        overrides = _overrides(args)
        resources = Settings.from_environment().resolved(overrides)
    except ValueError as refused:
        print(f"maskassets {args.command}: {refused}", file=sys.stderr)
        return 2
    if args.command == "export":
        return _export(args.video, export_format=args.export_format, out=args.out, resources=resources)
    if args.command == "summary":
        store = resources.artifacts.store()
        try:
            print("\n".join(summary_lines(stored_summary(store))))
        except FileNotFoundError as missing:
            print(f"{missing} `maskassets update` builds it.", file=sys.stderr)
            return 1
        return 0
    os.environ["DAGSTER_HOME"] = ensure_dagster_home()
    if args.command == "home":
        print(os.environ["DAGSTER_HOME"])
        return 0
    if args.command == "gc":
        return _collect_garbage(resources.artifacts, grace_hours=args.grace_hours, dry_run=args.dry_run)
    log_file = Path(os.environ["DAGSTER_HOME"]) / "logs" / f"update-{time.strftime('%Y%m%d-%H%M%S')}.log"
    try:
        with dg.DagsterInstance.get() as instance:
            report = update_all(instance, overrides=overrides, stage_lines=StageLines(sys.stdout), log_file=log_file)
    except (MissingVideoFolderError, StorageAccessError) as error:
        print(f"maskassets update: {name_variables(str(error))}", file=sys.stderr)
        return 2
    print("\n".join([*report.lines(), f"Dagster's log of this update: {log_file}"]))
    return 1 if report.failures else 0


def _overrides(args: argparse.Namespace) -> dict[str, dict[str, object]]:
    """The settings the command line overrides: its location options and each ``--set RESOURCE.FIELD=VALUE``
    (the value read as JSON where it is: numbers, true/false, lists; else as text)."""
    overrides: dict[str, dict[str, object]] = {}
    for option, (key, field_name) in _OPTIONS.items():
        if getattr(args, option, None):
            overrides.setdefault(key, {})[field_name] = getattr(args, option)
    for assignment in getattr(args, "set", []):
        name, equals, text = assignment.partition("=")
        key, dot, field_name = name.strip().partition(".")
        if not (equals and dot and key and field_name):
            raise ValueError(f"--set {assignment!r} is not RESOURCE.FIELD=VALUE, e.g. drawing.threshold=0.7.")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        overrides.setdefault(key, {})[field_name] = value
    return overrides


def _export(video: str, *, export_format: export_stage.ExportFormat, out: str | None, resources: Any) -> int:
    """`maskassets export`: the detections_export asset's file, written from the stored tables to ``out``."""
    store = resources.artifacts.store()
    root = resources.artifacts.root
    frames = store.read_manifest(frames_stage.STAGE, video)
    tracks = store.read_manifest(tracks_stage.STAGE, video)
    if frames is None or tracks is None:
        print(f"No stored detections of '{video}' under {root}; `maskassets update` builds them.", file=sys.stderr)
        return 1
    class_names = resources.detector.class_names
    target = out or f"{video}.{export_stage.FILES[export_format].removeprefix('detections.')}"
    with (
        contextlib.nullcontext(sys.stdout)
        if target == "-"
        else open(target, "w", encoding="utf-8", newline="") as output
    ):
        counts = export_stage.write_exports(
            frames_with_detections(store, frames, tracks, TRACKS_TABLE),
            {export_format: output},
            video=video,
            class_names=class_names,
        )
    if target != "-":
        print(f"{target}: {counts.detections} detections in {counts.frames} frames of {video}")
    return 0


def _collect_garbage(artifacts: ArtifactStoreResource, *, grace_hours: float | None, dry_run: bool) -> int:
    """`maskassets gc`: the artifact_gc job's collection, from a shell; runs in progress in the Dagster home
    keep their partitions' folders."""
    with dg.DagsterInstance.get() as instance:
        collection = collect_garbage(
            artifacts.store(),
            grace_seconds=(artifacts.gc_grace_hours if grace_hours is None else grace_hours) * 3600,
            busy_partitions=busy_partitions(instance),
            dry_run=dry_run,
        )
    print("\n".join(collection.lines(dry_run=dry_run)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
