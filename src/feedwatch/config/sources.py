"""Load config/feeds.yaml into validated frozen values; every mistake names file, line and expectation.

This is the only module that uses pydantic. YAML is composed into nodes first so that every key
and value keeps its line number; pydantic's errors are then translated into ``ConfigError`` with
the line of the offending key.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Literal

from cssselect import HTMLTranslator, SelectorError
from lxml import etree
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from feedwatch.config._yaml import Lines, UniqueNames, load_yaml, validate
from feedwatch.errors import ConfigError
from feedwatch.textsafe import is_http_url
from feedwatch.types import CONNECTOR_KINDS, ConnectorQuery, Selectors, Source

DEFAULT_CONFIG_PATH = Path("config/feeds.yaml")

_DURATION_RE = re.compile(
    r"^\s*(?:(\d+)\s*w)?\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$"
)
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def parse_duration(value: object) -> timedelta:
    """'30m', '1h', '1d', '2h30m', '1w', '45s' or a number of seconds -> timedelta (> 0)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 30m, 1h or 1d, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION_RE.match(value)) and any(m.groups()):
        w, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
        seconds = float(((w * 7 + d) * 24 + h) * 3600 + mi * 60 + s)
    else:
        raise ValueError(f"expected a duration such as 30m, 1h or 1d, got {value!r}")
    if seconds <= 0:
        raise ValueError(f"expected a positive duration, got {value!r}")
    return timedelta(seconds=seconds)


def parse_seconds(value: object) -> float:
    """A duration as seconds, where 0 is allowed: 0, 0.5, '500ms' is not, '2s', '1m'."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
        return 0.0
    return parse_duration(value).total_seconds()


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Seconds = Annotated[float, BeforeValidator(parse_seconds)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SelectorsModel(_Model):
    item: str | None = None
    title: str | None = None
    link: str | None = None
    date: str | None = None
    summary: str | None = None


_CONNECTOR_KEYS = (
    "since",
    "dossiers",
    "committee",
    "words",
    "creators",
    "subjects",
    "publishers",
    "types",
    "collections",
    "table",
    "page_size",
    "pause",
)
# which connector takes which of its keys (config/feeds.yaml's header documents them)
CONNECTOR_KEYS: dict[str, frozenset[str]] = {
    "tweedekamer": frozenset(
        {"since", "dossiers", "committee", "words", "types", "collections", "page_size", "pause"}
    ),
    "officielebekendmakingen": frozenset(
        {"since", "dossiers", "words", "creators", "types", "page_size", "pause"}
    ),
    "rechtspraak": frozenset({"since", "creators", "subjects", "types", "page_size", "pause"}),
    "woo": frozenset({"since", "publishers", "words", "page_size", "pause"}),
    "cbs": frozenset({"since", "table", "pause"}),
}
_WORD_RE = re.compile(r"^[\w-]+$")


class SourceModel(_Model):
    key: str
    name: str
    url: str
    organisation: str = ""
    kind: Literal[
        "rss",
        "atom",
        "json",
        "html",
        "sitemap",
        "auto",
        "tweedekamer",
        "officielebekendmakingen",
        "rechtspraak",
        "woo",
        "cbs",
    ] = "auto"
    domain: str | None = None
    # connector keys (kinds tweedekamer, officielebekendmakingen, rechtspraak, woo, cbs)
    since: date | None = None
    dossiers: list[Annotated[int, Field(ge=1000, le=99999)]] = []
    committee: str | None = None
    words: list[str] = []
    creators: list[str] = []
    subjects: list[str] = []
    publishers: list[str] = []
    types: list[str] = []
    collections: list[Literal["Document", "Zaak"]] = []
    table: str | None = None
    page_size: int | None = Field(default=None, ge=1, le=1000)
    pause: Seconds | None = None

    @field_validator("words")
    @classmethod
    def _words(cls, v: list[str]) -> list[str]:
        for w in v:
            if not _WORD_RE.match(w):
                raise ValueError(f"expected single words (letters, digits, '-'), got {w!r}")
        return v

    @field_validator("table")
    @classmethod
    def _table(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[0-9A-Za-z]{4,12}", v):
            raise ValueError(f"expected a StatLine table id such as 83102NED, got {v!r}")
        return v

    interval: Duration | None = None
    min_interval: Duration | None = None
    max_interval: Duration | None = None
    enabled: bool = True
    keep: Literal["all", "topical"] = "all"
    selectors: SelectorsModel | None = None
    max_pages: int = Field(default=1, ge=1, le=50)

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not _KEY_RE.match(v):
            raise ValueError(f"expected lower-case letters, digits and '-', got {v!r}")
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return check_url(v)


class DefaultsModel(_Model):
    interval: Duration = timedelta(hours=1)


class NetworkModel(_Model):
    allow_private: bool | list[str] = False
    concurrency: int = Field(default=10, ge=1, le=1000)
    per_host: int = Field(default=2, ge=1, le=50)
    host_delay: Seconds = 0.5
    connect_timeout: Duration = timedelta(seconds=10)
    read_timeout: Duration = timedelta(seconds=10)
    deadline: Duration = timedelta(seconds=30)
    max_body: int = Field(default=10 * 1024 * 1024, ge=1024)

    @field_validator("allow_private")
    @classmethod
    def _allow(cls, v: bool | list[str]) -> bool | list[str]:
        if isinstance(v, list):
            for entry in v:
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(
                        f"expected an address or network such as 127.0.0.1/32, got {entry!r}"
                    ) from None
        return v


_FOLLOW_RE = re.compile(r"^(kamerstuk|ecli|stcrt|stb|bwbr|celex):\S+$")


class ConfigModel(_Model):
    defaults: DefaultsModel = DefaultsModel()
    network: NetworkModel = NetworkModel()
    # dossiers followed: `feedwatch publish` writes an Atom and a JSON Feed for each
    follow: list[str] = []
    sources: list[SourceModel] = []

    @field_validator("follow")
    @classmethod
    def _follow(cls, v: list[str]) -> list[str]:
        for ref in v:
            if not _FOLLOW_RE.match(ref.strip()):
                raise ValueError(
                    "expected KIND:ID with KIND one of kamerstuk, ecli, stcrt, stb, bwbr, celex "
                    f"(e.g. kamerstuk:36704), got {ref!r}"
                )
        return [ref.strip() for ref in v]


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    allow_private: bool | tuple[str, ...] = False
    concurrency: int = 10
    per_host: int = 2
    host_delay: float = 0.5
    connect_timeout: float = 10.0
    read_timeout: float = 10.0
    deadline: float = 30.0
    max_body: int = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None
    sources: tuple[Source, ...]
    network: NetworkConfig = NetworkConfig()
    default_interval: timedelta = timedelta(hours=1)
    follow: tuple[str, ...] = ()  # entities (kind:id) with a published feed each

    def source(self, key: str) -> Source:
        for s in self.sources:
            if s.key == key:
                return s
        raise KeyError(key)


def check_url(v: str) -> str:
    """An absolute http(s) URL with a host, or ValueError in plain words."""
    v = v.strip()
    if not is_http_url(v):
        raise ValueError(f"expected an http(s) URL such as https://example.org/feed, got {v!r}")
    if any(c.isspace() for c in v):
        raise ValueError(f"expected a URL without spaces, got {v!r}")
    return v


def css_problem(css: str) -> str | None:
    """Why `css` is not a CSS selector the HTML extractor can use, or None when it is."""
    # cssselect turns CSS into XPath; lxml then compiles it, as the extractor does at fetch time.
    try:
        etree.XPath(HTMLTranslator().css_to_xpath(css))
    except SelectorError as exc:
        return str(exc) or type(exc).__name__
    except etree.XPathSyntaxError as exc:  # pragma: no cover - cssselect writes valid XPath
        return str(exc)
    return None


ENV_ALLOW_PRIVATE = "FEEDWATCH_ALLOW_PRIVATE"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def allow_private_from_env(
    allow: bool | tuple[str, ...], environ: Mapping[str, str]
) -> bool | tuple[str, ...]:
    """The one FEEDWATCH_ALLOW_PRIVATE rule (the environment beats the config file).

    1/true/yes/on allows every private address; 0/false/no/off refuses them (an explicit
    allow-list in the config stays); unset or empty keeps the config's `network.allow_private`.
    Anything else is a ConfigError naming the variable.
    """
    raw = environ.get(ENV_ALLOW_PRIVATE, "").strip().lower()
    if not raw:
        return allow
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return allow if isinstance(allow, tuple) else False
    raise ConfigError(f"{ENV_ALLOW_PRIVATE}: expected 1 or 0 (true/false, yes/no), got {raw!r}")


def load_config(
    path: Path | str | None = None, *, environ: Mapping[str, str] | None = None
) -> Config:
    """Read and validate a sources config. Raises ConfigError (file, line, expectation)."""
    env = os.environ if environ is None else environ
    file = (
        Path(path) if path is not None else Path(env.get("FEEDWATCH_CONFIG", DEFAULT_CONFIG_PATH))
    )
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            "file not found (expected a sources config, see config/feeds.yaml)", file
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file) from exc
    return parse_config(text, file, environ=env)


def _connector(s: SourceModel, i: int, file: Path, lines: Lines) -> ConnectorQuery | None:
    """The connector keys of source `i`, checked against its kind (file:line for a mistake)."""
    given = [k for k in _CONNECTOR_KEYS if k in s.model_fields_set]
    if s.kind not in CONNECTOR_KINDS:
        if given:
            raise ConfigError(
                f"sources[{i}].{given[0]}: only connector sources ({', '.join(CONNECTOR_KINDS)}) "
                f"take {given[0]!r} (kind is {s.kind!r})",
                file,
                lines.line_for(("sources", i, given[0])),
            )
        return None
    allowed = CONNECTOR_KEYS[s.kind]
    for k in given:
        if k not in allowed:
            raise ConfigError(
                f"sources[{i}].{k}: a {s.kind} source does not take {k!r} "
                f"(it takes {', '.join(sorted(allowed))})",
                file,
                lines.line_for(("sources", i, k)),
            )
    if s.selectors is not None:
        raise ConfigError(
            f"sources[{i}].selectors: only html sources take selectors (kind is {s.kind!r})",
            file,
            lines.line_for(("sources", i, "selectors")),
        )
    if s.kind == "cbs" and not s.table:
        raise ConfigError(
            f"sources[{i}]: a cbs source needs 'table:' (e.g. table: 83102NED)",
            file,
            lines.line_for(("sources", i)),
        )
    return ConnectorQuery(
        since=s.since,
        dossiers=tuple(s.dossiers),
        committee=s.committee,
        words=tuple(s.words),
        creators=tuple(s.creators),
        subjects=tuple(s.subjects),
        publishers=tuple(s.publishers),
        types=tuple(s.types),
        collections=tuple(s.collections),
        table=s.table,
        page_size=s.page_size,
        pause=s.pause,
    )


def parse_config(text: str, file: Path, *, environ: Mapping[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    data, lines = load_yaml(text, file)
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with 'sources:' at the top level", file, 1)
    model = validate(ConfigModel, data, lines, file)

    names = UniqueNames("source key", "sources", "key", lines, file)
    sources: list[Source] = []
    for i, s in enumerate(model.sources):
        line = lines.line_for(("sources", i))
        names.add(i, s.key)
        if s.selectors is not None and s.kind not in ("html", "auto"):
            raise ConfigError(
                f"sources[{i}].selectors: only html sources take selectors (kind is {s.kind!r})",
                file,
                lines.line_for(("sources", i, "selectors")),
            )
        connector = _connector(s, i, file, lines)
        sel = s.selectors
        if sel is not None:
            for name, css in sel.model_dump().items():
                problem = css_problem(css) if css else None
                if problem is not None:
                    raise ConfigError(
                        f"sources[{i}].selectors.{name}: expected a CSS selector, "
                        f"got {css!r} ({problem})",
                        file,
                        lines.line_for(("sources", i, "selectors", name)),
                    )
        sources.append(
            Source(
                key=s.key,
                name=s.name,
                url=s.url,
                kind=s.kind,
                organisation=s.organisation,
                interval=s.interval or model.defaults.interval,
                enabled=s.enabled,
                keep=s.keep,
                selectors=Selectors(**sel.model_dump()) if sel is not None else None,
                max_pages=s.max_pages,
                line=line,
                min_interval=s.min_interval,
                max_interval=s.max_interval,
                connector=connector,
                domain=s.domain,
            )
        )

    net = model.network
    allow: bool | tuple[str, ...] = (
        tuple(net.allow_private) if isinstance(net.allow_private, list) else net.allow_private
    )
    allow = allow_private_from_env(allow, env)
    return Config(
        path=file,
        sources=tuple(sources),
        network=NetworkConfig(
            allow_private=allow,
            concurrency=net.concurrency,
            per_host=net.per_host,
            host_delay=net.host_delay,
            connect_timeout=net.connect_timeout.total_seconds(),
            read_timeout=net.read_timeout.total_seconds(),
            deadline=net.deadline.total_seconds(),
            max_body=net.max_body,
        ),
        default_interval=model.defaults.interval,
        follow=tuple(model.follow),
    )
