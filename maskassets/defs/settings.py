"""The deployment's settings: every resource field a ``MASKASSETS_*`` variable sets (README lists them), handed to
Dagster as each field's default, which a run may override field by field from the launchpad, run config or the
CLI. Locations are bound with ``dg.EnvVar`` where their variable is set, so the UI names the variable."""

from __future__ import annotations

import functools
import json
import os
import re
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

import dagster as dg
import pydantic
from dagster_ray import Lifecycle

from maskassets.defs.resources import (
    ArtifactStoreResource,
    DetectorResource,
    DrawingResource,
    EncoderResource,
    RayClusterResource,
    TrackerResource,
    VideoFolderResource,
)

#: Per resource, the variable (less its MASKASSETS_ prefix) that sets each field.
VARIABLES: dict[str, dict[str, str]] = {
    "artifacts": {
        "root": "ARTIFACTS",
        "max_shard_mib": "MAX_SHARD_MIB",
        "row_group_mib": "ROW_GROUP_MIB",
        "gc_grace_hours": "GC_GRACE_HOURS",
        "shared_by_all_nodes": "SHARED_ARTIFACTS",
    },
    "videos": {
        "location": "VIDEOS",
        "strict_decoding": "STRICT_DECODING",
        "frame_format": "FRAME_FORMAT",
        "jpeg_quality": "JPEG_QUALITY",
        "segment_frames": "SEGMENT_FRAMES",
        "settle_seconds": "SETTLE_SECONDS",
    },
    "detector": {
        "checkpoint_uri": "CHECKPOINT",
        "architecture": "ARCHITECTURE",
        "class_names": "CLASS_NAMES",
        "min_size": "MIN_SIZE",
        "max_size": "MAX_SIZE",
        "box_score_thresh": "BOX_SCORE_THRESH",
        "box_detections_per_img": "DETECTIONS_PER_IMAGE",
        "proposals": "PROPOSALS",
        "device": "DEVICE",
        "batch_size": "BATCH_SIZE",
        "pool_size": "POOL_SIZE",
        "cpus_per_actor": "CPUS_PER_ACTOR",
        "gpus_per_actor": "GPUS_PER_ACTOR",
        "precision": "PRECISION",
        "frame_stride": "FRAME_STRIDE",
    },
    "drawing": {
        "threshold": "THRESHOLD",
        "line_width": "LINE_WIDTH",
        "font_scale": "FONT_SCALE",
        "show_labels": "SHOW_LABELS",
        "trail_frames": "TRAIL_FRAMES",
        "class_colors": "CLASS_COLORS",
    },
    "tracker": {
        "threshold": "TRACK_THRESHOLD",
        "low_threshold": "TRACK_LOW_THRESHOLD",
        "match_iou": "TRACK_MATCH_IOU",
        "lost_seconds": "TRACK_LOST_SECONDS",
    },
    "encoder": {
        "codec": "CODEC",
        "crf": "CRF",
        "bitrate": "BITRATE",
        "segment_frames": "ENCODE_SEGMENT_FRAMES",
        "audio": "AUDIO",
        "sound_part_seconds": "SOUND_PART_SECONDS",
    },
}

#: The resources whose fields a run may override, by key.
CONFIGURABLE: dict[str, type[dg.ConfigurableResource]] = {
    "artifacts": ArtifactStoreResource,
    "videos": VideoFolderResource,
    "detector": DetectorResource,
    "drawing": DrawingResource,
    "tracker": TrackerResource,
    "encoder": EncoderResource,
}

#: Fields that say where things are rather than what is computed: bound to their variable, not recorded with
#: the artifacts (a checkpoint URI may carry credentials).
LOCATIONS = {("artifacts", "root"), ("videos", "location"), ("detector", "checkpoint_uri")}

PREFIX = "MASKASSETS_"
_RAY_ADDRESS = f"{PREFIX}RAY_ADDRESS"
_RAY_NUM_CPUS = f"{PREFIX}RAY_NUM_CPUS"
_RAY_CONNECT_WAIT = f"{PREFIX}RAY_CONNECT_WAIT_SECONDS"
_RAY_OBJECT_STORE = f"{PREFIX}RAY_OBJECT_STORE_MB"
#: The variables that size a local Ray, with what they size and the option a cluster's nodes size it with instead.
_LOCAL_RAY_SIZES = {
    _RAY_NUM_CPUS: ("CPUs", "--num-cpus"),
    _RAY_OBJECT_STORE: ("object store", "--object-store-memory"),
}
#: The Ray resource's fields that a variable sets, and which variable.
_RAY_FIELD_VARIABLES = {"connect_wait_seconds": _RAY_CONNECT_WAIT, "local_object_store_mb": _RAY_OBJECT_STORE}

#: Overrides of resource fields: resource key -> field -> value, as a run config's ``resources`` section holds them.
Overrides = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Settings:
    """The field values the environment sets (locations as ``dg.EnvVar``); every other field keeps its default."""

    values: Mapping[str, Mapping[str, Any]]
    ray_address: str | None
    ray_num_cpus: int | None
    #: Fields of the Ray resource that variables set (``_RAY_FIELD_VARIABLES``).
    ray_fields: Mapping[str, Any]

    @classmethod
    def from_environment(cls) -> Settings:
        """Read every ``MASKASSETS_*`` variable, refusing a malformed one with its name."""
        environ = os.environ
        values: dict[str, dict[str, Any]] = {}
        for key, fields in VARIABLES.items():
            model_fields = CONFIGURABLE[key].model_fields
            values[key] = {}
            for name, suffix in fields.items():
                variable = PREFIX + suffix
                text = environ.get(variable, "").strip()
                if not text:
                    continue
                values[key][name] = (
                    dg.EnvVar(variable)
                    if (key, name) in LOCATIONS
                    else _parse(variable, text, model_fields[name].annotation)
                )
        ray_address = environ.get(_RAY_ADDRESS, "").strip() or None
        ray_cpus = environ.get(_RAY_NUM_CPUS, "").strip()
        for variable, (size, option) in _LOCAL_RAY_SIZES.items():
            if ray_address and environ.get(variable, "").strip():
                raise ValueError(
                    f"{variable} sizes a local Ray's {size} and cannot apply to the cluster at {_RAY_ADDRESS}, whose "
                    f"nodes size their own (`ray start {option}`); unset one of them."
                )
        num_cpus = int(_parse(_RAY_NUM_CPUS, ray_cpus, int)) if ray_cpus else None
        ray_fields = {
            name: _parse(variable, text, RayClusterResource.model_fields[name].annotation)
            for name, variable in _RAY_FIELD_VARIABLES.items()
            if (text := environ.get(variable, "").strip())
        }
        settings = cls(values=values, ray_address=ray_address, ray_num_cpus=num_cpus, ray_fields=ray_fields)
        settings.defaults  # noqa: B018 resolving it refuses out-of-range values now, before any work
        return settings

    def for_definitions(self) -> dict[str, Any]:
        """The resources for ``dg.Definitions``: each field's value here is its default in a run's config."""
        resources: dict[str, Any] = {
            key: resource.configure_at_launch(**self.values[key]) for key, resource in CONFIGURABLE.items()
        }
        resources["ray_cluster"] = self._ray_cluster()
        return resources

    @functools.cached_property
    def defaults(self) -> types.SimpleNamespace:
        """The resources as a run without overrides gets them, resolved once."""
        return self._resolve_all({})

    def resolved(self, overrides: Overrides | None = None) -> types.SimpleNamespace:
        """The resources as a run with ``overrides`` gets them (variables read), by key as attributes: for work
        outside a run and for the code versions the definitions show."""
        return self._resolve_all(overrides) if overrides else self.defaults

    def _resolve_all(self, overrides: Overrides) -> types.SimpleNamespace:
        unknown = sorted(set(overrides) - set(CONFIGURABLE))
        if unknown:
            raise ValueError(f"No settings named {', '.join(unknown)}; the settings are {', '.join(CONFIGURABLE)}.")
        resources = {key: self._resolve(key, overrides.get(key, {})) for key in CONFIGURABLE}
        return types.SimpleNamespace(**resources, ray_cluster=self._ray_cluster())

    def run_config(self, overrides: Overrides | None) -> dict[str, Any]:
        """The ``resources`` section of a run's config that applies ``overrides`` (checked first, as a run would)."""
        self.resolved(overrides)
        return {key: {"config": dict(fields)} for key, fields in (overrides or {}).items()}

    def _resolve(self, key: str, overrides: Mapping[str, Any]) -> dg.ConfigurableResource:
        resource = CONFIGURABLE[key]
        unknown = sorted(set(overrides) - set(resource.model_fields))
        if unknown:
            raise ValueError(
                f"{key} has no setting {', '.join(unknown)}; its settings are {', '.join(resource.model_fields)}."
            )
        values = {
            name: value.get_value() if isinstance(value, dg.EnvVar) else value
            for name, value in self.values[key].items()
        }
        try:
            return resource(**(values | dict(overrides)))
        except pydantic.ValidationError as error:
            raise ValueError(_refusal(key, error, environment=values, overrides=overrides)) from None

    def _ray_cluster(self) -> RayClusterResource:
        try:
            return RayClusterResource(
                address=dg.EnvVar(_RAY_ADDRESS) if self.ray_address else None,
                # Connect only when a stage has work for Ray (ensure_connected), not when the run starts.
                lifecycle=Lifecycle(connect=False),
                ray_init_options={"num_cpus": self.ray_num_cpus} if self.ray_num_cpus is not None else {},
                **self.ray_fields,
            )
        except pydantic.ValidationError as error:
            problem = error.errors()[0]
            name = problem["loc"][0]
            raise ValueError(f"{_RAY_FIELD_VARIABLES[name]}={self.ray_fields[name]!r}: {problem['msg']}") from None


def recorded_settings(resource: dg.ConfigurableResource, key: str) -> dict[str, Any]:
    """The field values of ``resource`` (the one under ``key``) an artifact records it was made with."""
    return {name: getattr(resource, name) for name in type(resource).model_fields if (key, name) not in LOCATIONS}


def variable_of(key: str, field: str) -> str | None:
    suffix = VARIABLES.get(key, {}).get(field)
    return PREFIX + suffix if suffix else None


#: How plain code names a setting in a message: `resource.field`, the name run config and `--set` use.
_SETTING_MENTION = re.compile(r"`(\w+)\.(\w+)`")


def name_variables(message: str) -> str:
    """``message`` with the variable that sets each setting it names after the setting's name."""

    def named(mention: re.Match[str]) -> str:
        variable = variable_of(mention[1], mention[2])
        return f"{mention[0]} ({variable})" if variable else mention[0]

    return _SETTING_MENTION.sub(named, message)


@contextmanager
def variables_named() -> Iterator[None]:
    """An error raised inside names, beside each setting its message names, the variable that sets it: plain code
    knows the settings, not how this deployment sets them."""
    try:
        yield
    except Exception as error:
        if error.args and isinstance(error.args[0], str):
            error.args = (name_variables(error.args[0]), *error.args[1:])
        raise


def _parse(variable: str, text: str, annotation: Any) -> Any:
    """``text`` as the field's type: numbers and flags checked here (by name), ranges by the resource."""
    kind = _without_none(annotation)
    if text == "" and kind is not annotation:
        return None
    if kind is bool:
        if text.lower() not in ("0", "1", "true", "false", "yes", "no"):
            raise ValueError(f"{variable}={text!r} is not a flag; use 1 or 0.")
        return text.lower() in ("1", "true", "yes")
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"{variable}={text!r} is not a valid {kind.__name__}; unset it or fix it.") from None
    if get_origin(kind) is list:
        return [part.strip() for part in text.split(",") if part.strip()]
    if get_origin(kind) is dict:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ValueError(f"{variable}={text!r} is not JSON; unset it or fix it.") from None
    return text


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        others = [arg for arg in get_args(annotation) if arg is not type(None)]
        return others[0] if len(others) == 1 else annotation
    return annotation


def _refusal(
    key: str, error: pydantic.ValidationError, *, environment: Mapping[str, Any], overrides: Mapping[str, Any]
) -> str:
    """One line per refused field, naming where its value came from: the run's override or the variable."""
    lines = []
    for problem in error.errors():
        message = problem["msg"].removeprefix("Value error, ")
        field = str(problem["loc"][0]) if problem["loc"] else None
        if field in overrides:
            lines.append(f"{key}.{field}={overrides[field]!r}: {message}")
        elif field in environment:
            lines.append(f"{variable_of(key, field)}={environment[field]!r} ({key}.{field}): {message}")
        else:
            lines.append(f"{key}.{field}: {message}" if field else f"{key}: {message}")
    return "Settings refused:\n" + "\n".join(lines)
