"""The topic rules file (config/topics.yaml): its format as pydantic values, read with line numbers.

`read_topics` (a path, or None for the rules that ship in the package) and `parse_topics_text`
(YAML text) validate a rules file and return a `TopicsFile`: the validated spec plus the way to
find the line of any key, so that the compiler in `feedwatch.core.classify` can name the line of a
bad term. Every mistake is a `ConfigError` with file, line and what was expected. The rule
language is documented at the top of the packaged ``feedwatch/data/topics.yaml``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from feedwatch.errors import ConfigError

__all__ = [
    "DEFAULT_MODEL_PATH",
    "DEFAULT_TOPICS_PATH",
    "CombinationSpec",
    "ExcludeSpec",
    "NearSpec",
    "ScoringSpec",
    "TopicSpec",
    "TopicsFile",
    "TopicsSpec",
    "model_path",
    "parse_topics_text",
    "read_topics",
    "topics_path",
]

# config/topics.yaml overrides the rules that ship with feedwatch when it exists; likewise
# config/topics-model.json (written by `feedwatch train`) the model that ships with it
DEFAULT_TOPICS_PATH = Path("config/topics.yaml")
DEFAULT_MODEL_PATH = Path("config/topics-model.json")

# libyaml's composer when PyYAML has it: same nodes and line marks, several times faster.
_COMPOSER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# ---------------------------------------------------------------------------------------------
# The file format (validated with pydantic; every model forbids unknown keys)

Weight = Annotated[float, Field(strict=True, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
TermList = Annotated[list[str], Field(min_length=1)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoringSpec(_Spec):
    """How matches become a score; shared by every topic."""

    title_weight: NonNegative = 2.0  # a match in the title counts this many body matches
    repeat: Annotated[float, Field(strict=True, ge=0, le=1)] = 0.5  # worth of each repeat
    max_count: Annotated[int, Field(strict=True, ge=1)] = 4  # repeats beyond this are ignored
    lemmas: Annotated[bool, Field(strict=True)] = False  # also match the simplemma lemma of words


class CombinationSpec(_Spec):
    name: str | None = None
    all: Annotated[list[TermList], Field(min_length=2)]
    weight: Weight


class NearSpec(_Spec):
    name: str | None = None
    a: TermList
    b: TermList
    within: Annotated[int, Field(strict=True, ge=1, le=100)]
    weight: Weight


class ExcludeSpec(_Spec):
    name: str | None = None
    terms: TermList
    mask: Annotated[bool, Field(strict=True)] = True
    weight: NonNegative = 0.0


class TopicSpec(_Spec):
    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]
    title: Annotated[str, Field(min_length=1)]
    description: str = ""
    threshold: Weight
    terms: dict[str, Weight] = Field(default_factory=dict)
    combinations: list[CombinationSpec] = Field(default_factory=list)
    near: list[NearSpec] = Field(default_factory=list)
    exclude: list[ExcludeSpec] = Field(default_factory=list)


class TopicsSpec(_Spec):
    scoring: ScoringSpec = Field(default_factory=ScoringSpec)
    topics: Annotated[list[TopicSpec], Field(min_length=1)]
    priors: dict[str, dict[str, Weight]] = Field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True, eq=False)
class TopicsFile:
    """A validated rules file: the spec, where it came from, and the line of any key in it."""

    spec: TopicsSpec
    path: Path | None
    _root: yaml.Node

    def line(self, loc: Sequence[int | str]) -> int:
        """The line of the deepest key along `loc` (e.g. ("topics", 0, "terms", "azc"))."""
        return _line_at(self._root, loc)

    def fail(self, message: str, loc: Sequence[int | str]) -> ConfigError:
        return ConfigError(message, self.path, self.line(loc))


def topics_path(path: str | Path | None = None) -> Path | None:
    """The rules to use: `path` when given, else config/topics.yaml when present, else None
    (the rules that ship with feedwatch)."""
    if path:
        return Path(path)
    return DEFAULT_TOPICS_PATH if DEFAULT_TOPICS_PATH.exists() else None


def model_path(path: str | Path | None = None) -> Path | None | bool:
    """The model to use beside the rules: `path` when given, else $FEEDWATCH_MODEL, else
    config/topics-model.json when present, else None (the model that ships with feedwatch).
    "none" (as `path` or in the variable) means no model: the rules alone decide (False)."""
    chosen = str(path) if path else os.environ.get("FEEDWATCH_MODEL", "")
    if chosen.strip().lower() == "none":
        return False
    if chosen:
        return Path(chosen)
    return DEFAULT_MODEL_PATH if DEFAULT_MODEL_PATH.exists() else None


def read_topics(path: Path | None = None) -> TopicsFile:
    """Read and validate a topics file; None means the default shipped in the package."""
    if path is None:
        ref = resources.files("feedwatch").joinpath("data").joinpath("topics.yaml")
        return parse_topics_text(
            ref.read_text(encoding="utf-8"), Path("feedwatch/data/topics.yaml")
        )
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError("topics file not found", path) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read topics file: {exc}", path) from exc
    return parse_topics_text(text, Path(path))


def parse_topics_text(text: str, path: Path | str | None = None) -> TopicsFile:
    """Validate topic rules given as YAML text; errors name `path` and the line."""
    where = Path(path) if path is not None else None
    root = _compose(text, where)
    loader = yaml.SafeLoader("")
    try:
        data = loader.construct_document(root)
    except yaml.YAMLError as exc:
        line = _mark_line(exc)
        raise ConfigError(f"invalid YAML: {exc}", where, line) from exc
    finally:
        loader.dispose()
    try:
        spec = TopicsSpec.model_validate(data)
    except ValidationError as exc:
        # a misspelt key shows up as "unknown" and as "missing": name the misspelling first
        errors = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
        err = errors[0]
        loc = tuple(err["loc"])
        raise ConfigError(_describe(err), where, _line_at(root, loc)) from exc
    return TopicsFile(spec, where, root)


def _mark_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def _compose(text: str, where: Path | None) -> yaml.Node:
    try:
        root = yaml.compose(text, Loader=_COMPOSER)
    except yaml.YAMLError as exc:
        hint = ""
        if "alias" in str(exc):
            hint = " (a term that starts with '*' must be quoted: \"*noodopvang\")"
        raise ConfigError(f"invalid YAML{hint}: {exc}", where, _mark_line(exc)) from exc
    if root is None:
        raise ConfigError("the file is empty; expected a mapping with a 'topics' list", where, 1)
    _check_duplicates(root, where)
    return root


def _check_duplicates(node: yaml.Node, where: Path | None) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = key.start_mark.line + 1
                if key.value in seen:
                    raise ConfigError(
                        f"duplicate key '{key.value}' (first at line {seen[key.value]})",
                        where,
                        line,
                    )
                seen[key.value] = line
            _check_duplicates(value, where)
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            _check_duplicates(child, where)


def _line_at(root: yaml.Node, loc: Sequence[int | str]) -> int:
    """The line of the deepest node along `loc`: a mapping key's own line when it exists."""
    node = root
    line = root.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _model_at(loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The spec model that holds the last element of `loc` (to list its allowed keys)."""
    tp: Any = TopicsSpec
    for part in loc[:-1]:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = tp.model_fields.get(str(part))
            if info is None:
                return None
            tp = info.annotation
        else:
            args = get_args(tp)
            tp = args[-1] if args else None
        while get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
        if get_origin(tp) is Union:
            tp = next((a for a in get_args(tp) if a is not type(None)), None)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _describe(err: Mapping[str, Any]) -> str:
    loc = tuple(err["loc"])
    kind = str(err["type"])
    name = str(loc[-1]) if loc else "file"
    where = ".".join(str(p) for p in loc) or "the file"
    got = err.get("input")
    if kind == "extra_forbidden":
        model = _model_at(loc)
        allowed = ", ".join(model.model_fields) if model else ""
        return f"unknown key '{name}'" + (f"; expected one of: {allowed}" if allowed else "")
    if kind == "missing":
        return f"missing key '{name}' in {'.'.join(str(p) for p in loc[:-1]) or 'the file'}"
    if kind in {"float_type", "int_type", "float_parsing", "int_parsing", "finite_number"}:
        if len(loc) >= 2 and loc[-2] == "terms":
            return f"the weight of term '{name}' must be a number, got {got!r}"
        return f"'{where}' must be a number, got {got!r}"
    if kind == "bool_type":
        return f"'{where}' must be true or false, got {got!r}"
    if kind in {"model_type", "dict_type"}:
        return f"'{where}' must be a mapping, got {type(got).__name__}"
    if kind == "list_type":
        return f"'{where}' must be a list, got {type(got).__name__}"
    return f"'{where}': {err['msg']}"
