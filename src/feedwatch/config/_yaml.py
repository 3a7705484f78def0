"""The one YAML loader of feedwatch's config files: every key keeps its line number, so that a
mistake is reported as ``file:line: what was expected``; and pydantic's errors in those words."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from feedwatch.errors import ConfigError

__all__ = ["COMPOSER", "Lines", "UniqueNames", "describe", "error_loc", "load_yaml", "validate"]

M = TypeVar("M", bound=BaseModel)


class Lines:
    """Line numbers (1-based) of every mapping key and sequence item, by path."""

    def __init__(self) -> None:
        self.lines: dict[tuple[str | int, ...], int] = {}

    def line_for(self, loc: tuple[str | int, ...]) -> int | None:
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get(())


def _construct(
    node: yaml.Node, path: tuple[str | int, ...], lines: Lines, file: Path | None
) -> Any:
    lines.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _construct(key_node, (*path, "<key>"), lines, file)
            if not isinstance(key, str):
                raise ConfigError(
                    f"expected a text key, got {key!r}", file, key_node.start_mark.line + 1
                )
            if key in out:
                raise ConfigError(
                    f"duplicate key {key!r} (first given on line {lines.lines[(*path, key)]})",
                    file,
                    key_node.start_mark.line + 1,
                )
            lines.lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _construct(value_node, (*path, key), lines, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(child, (*path, i), lines, file) for i, child in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return _SCALARS.construct_object(node)


_SCALARS = yaml.SafeLoader("")  # only used to turn resolved scalar nodes into values
# libyaml's composer when PyYAML was built with it (several times faster); same nodes and marks.
COMPOSER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str, file: Path | None) -> tuple[Any, Lines]:
    lines = Lines()
    try:
        node = yaml.compose(text, Loader=COMPOSER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        hint = ""
        if "alias" in str(exc.problem or exc):
            hint = " (a value that starts with '*' must be quoted: \"*noodopvang\")"
        raise ConfigError(f"not valid YAML{hint}: {exc.problem or exc}", file, line) from exc
    if node is None:
        return {}, lines
    return _construct(node, (), lines, file), lines


def describe(err: Mapping[str, Any]) -> str:
    loc = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"])
    loc = loc.replace(".[", "[")
    kind = err["type"]
    msg = str(err["msg"])
    if kind == "extra_forbidden":
        return f"unknown key {loc!r}"
    if kind == "missing":
        return f"missing field {loc!r}"
    if kind == "literal_error":
        return f"{loc}: {msg.replace('Input should be', 'expected')}, got {err.get('input')!r}"
    if msg.startswith("Value error, "):
        msg = msg.removeprefix("Value error, ")
    else:
        msg = f"{msg.replace('Input should be', 'expected')}, got {err.get('input')!r}"
    return f"{loc}: {msg}"


def error_loc(err: Mapping[str, Any]) -> tuple[str | int, ...]:
    # pydantic adds the validator name for unions/annotated types (e.g. 'bool', 'list[str]');
    # drop trailing parts that are not in the YAML.
    return tuple(
        p for p in err["loc"] if isinstance(p, int) or not p.startswith(("function-", "literal["))
    )


def validate(
    model: type[M],
    data: Any,
    lines: Lines,
    file: Path,
    *,
    aliases: Mapping[str, str] | None = None,
) -> M:
    """``model`` validated from ``data``; the first error as ConfigError at its line.
    `aliases` maps a field name to the key the file spells it with (sender -> from)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple((aliases or {}).get(p, p) if isinstance(p, str) else p for p in error_loc(err))
        raise ConfigError(describe(err), file, lines.line_for(loc)) from None


class UniqueNames:
    """The names of one list in a config file (sources' keys, profiles' names, ...), each used
    once: the second use is a ConfigError at its line that says where the first one is."""

    def __init__(self, what: str, section: str, key: str, lines: Lines, file: Path) -> None:
        self.what, self.section, self.key = what, section, key
        self.lines, self.file = lines, file
        self.seen: dict[str, int] = {}

    def add(self, i: int, name: str) -> None:
        """Item `i` of the section is called `name`."""
        if name in self.seen:
            raise ConfigError(
                f"duplicate {self.what} {name!r} (first used on line {self.seen[name]})",
                self.file,
                self.lines.line_for((self.section, i, self.key)),
            )
        self.seen[name] = self.lines.line_for((self.section, i)) or 0
