"""Load the monitors (config/monitors.yaml) into frozen values, with file:line errors.

A monitor is a saved search with its own cadence and channels; the file's format is documented
at the top of the shipped ``config/monitors.yaml``. The file is found through ``--monitors
PATH``, ``FEEDWATCH_MONITORS``, or ``monitors.yaml`` beside the sources config. The profiles of
a ``digests.yaml`` beside it are still read, as daily monitors, with a deprecation warning;
`feedwatch digest` keeps delivering them as before.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from feedwatch.config._yaml import UniqueNames, load_yaml, validate
from feedwatch.config.digests import (
    DigestProfile,
    DigestsConfig,
    EmailModel,
    EmailOutput,
    SmtpConfig,
    SmtpModel,
    digests_path,
    load_digests,
)
from feedwatch.config.sources import check_url
from feedwatch.errors import ConfigError
from feedwatch.types import DAYS, Cadence

log = logging.getLogger("feedwatch.config")

_FORM = re.compile(
    r"^\s*(?:(immediate)|(hourly)|daily\s+(\d{1,2}):(\d{2})|weekly\s+([a-z]{3})\s+(\d{1,2}):(\d{2}))\s*$"
)


def parse_cadence(text: str) -> Cadence:
    """A cadence from its spelling; ValueError in plain words."""
    m = _FORM.match(text.lower()) if isinstance(text, str) else None
    expected = "expected immediate, hourly, 'daily HH:MM' or 'weekly DAY HH:MM' (DAY: mon..sun)"
    if m is None:
        raise ValueError(f"{expected}, got {text!r}")
    if m.group(1):
        return Cadence("immediate")
    if m.group(2):
        return Cadence("hourly")
    if m.group(3) is not None:
        hour, minute, day = int(m.group(3)), int(m.group(4)), 0
        kind: Literal["daily", "weekly"] = "daily"
    else:
        if m.group(5) not in DAYS:
            raise ValueError(f"{expected}, got the day {m.group(5)!r}")
        hour, minute, day = int(m.group(6)), int(m.group(7)), DAYS.index(m.group(5))
        kind = "weekly"
    if hour > 23 or minute > 59:
        raise ValueError(f"{expected}, got the time {hour}:{minute:02d}")
    return Cadence(kind, hour, minute, day)


MONITORS_FILE = "monitors.yaml"
ENV_MONITORS = "FEEDWATCH_MONITORS"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_KEY_RE = _NAME_RE
_ENV_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
ENTITY_KINDS = ("kamerstuk", "ecli", "stcrt", "stb", "bwbr", "celex", "woo", "cbs")
_ENTITY_RE = re.compile(r"^([a-z]+):(\S+)$")


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    secret_env: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where a monitor's messages go (any of these)."""

    markdown: bool = False
    markdown_dir: str | None = None  # default $FEEDWATCH_OUTPUT_DIR/monitors
    email: EmailOutput | None = None
    subject: str = "feedwatch {monitor}: {count}"
    webhook: Webhook | None = None
    apprise: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Monitor:
    """One saved search: what matches, how often it is delivered, and where."""

    name: str
    query_text: str | None = None  # the search language; core.search.query.parse_query reads it
    topics: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    cadence: Cadence = Cadence("daily", 7, 0)
    deliver: Delivery = Delivery()
    enabled: bool = True
    digest_profile: bool = False  # read from digests.yaml: delivered by `feedwatch digest`
    line: int | None = None


@dataclass(frozen=True, slots=True)
class MonitorsConfig:
    path: Path | None
    monitors: tuple[Monitor, ...] = ()
    smtp: SmtpConfig | None = None
    digests: DigestsConfig | None = None  # the deprecated digests.yaml, when it has profiles

    def monitor(self, name: str) -> Monitor:
        for m in self.monitors:
            if m.name == name:
                return m
        raise KeyError(name)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookModel(_Model):
    url: str
    secret_env: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return check_url(v)

    @field_validator("secret_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_RE.match(v):
            raise ValueError(f"expected the name of an environment variable, got {v!r}")
        return v


class MonitorEmailModel(EmailModel):
    subject: str = "feedwatch {monitor}: {count}"

    @field_validator("subject")
    @classmethod
    def _subject(cls, v: str) -> str:
        try:
            v.format(monitor="m", count=1, date="d")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"subject: placeholders are {{monitor}}, {{count}} and {{date}} ({exc})"
            ) from None
        return v


class DeliverModel(_Model):
    markdown: bool | str = False
    email: MonitorEmailModel | None = None
    webhook: WebhookModel | None = None
    apprise: list[str] = []

    @field_validator("apprise")
    @classmethod
    def _apprise(cls, v: list[str]) -> list[str]:
        for url in v:
            if "://" not in url or any(c.isspace() for c in url):
                raise ValueError(
                    f"expected Apprise URLs such as ntfys://ntfy.sh/topic, got {url!r}"
                )
        return v


class MonitorModel(_Model):
    name: str
    query: str | None = None
    topics: list[str] = []
    sources: list[str] = []
    entities: list[str] = []
    cadence: str = "daily 07:00"
    deliver: DeliverModel = DeliverModel(markdown=True)
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME_RE.match(v):
            raise ValueError(f"expected lower-case letters, digits and '-', got {v!r}")
        return v

    @field_validator("topics", "sources")
    @classmethod
    def _keys(cls, v: list[str]) -> list[str]:
        for key in v:
            if not _KEY_RE.match(key):
                raise ValueError(
                    f"expected keys of lower-case letters, digits and '-', got {key!r}"
                )
        return v

    @field_validator("entities")
    @classmethod
    def _entities(cls, v: list[str]) -> list[str]:
        for ref in v:
            check_entity(ref)
        return v

    @field_validator("cadence")
    @classmethod
    def _cadence(cls, v: str) -> str:
        parse_cadence(v)
        return v


class MonitorsModel(_Model):
    smtp: SmtpModel | None = None
    monitors: list[MonitorModel] = Field(default_factory=list)


def check_entity(ref: str) -> str:
    """A `kind:id` reference (kamerstuk:36704, ecli:ECLI:NL:RVS:2026:7012, ...)."""
    m = _ENTITY_RE.match(ref.strip()) if isinstance(ref, str) else None
    if m is None or m.group(1) not in ENTITY_KINDS:
        raise ValueError(
            f"expected KIND:ID with KIND one of {', '.join(ENTITY_KINDS)} "
            f"(e.g. kamerstuk:36704), got {ref!r}"
        )
    return ref


def monitors_path(
    explicit: Path | str | None = None,
    sources_config: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """--monitors PATH, else $FEEDWATCH_MONITORS, else monitors.yaml beside the sources config."""
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if env.get(ENV_MONITORS):
        return Path(env[ENV_MONITORS])
    base = Path(sources_config) if sources_config is not None else Path("config/feeds.yaml")
    return base.parent / MONITORS_FILE


def load_monitors(
    path: Path | str,
    *,
    sources_config: Path | str | None = None,
    required: bool = False,
    legacy_digests: bool = True,
    check_query: QueryCheck | None = None,
) -> MonitorsConfig:
    """Read and validate a monitors file (a missing file means no monitors unless `required`),
    plus the profiles of the digests.yaml beside the sources config, as daily monitors."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigError("file not found (expected monitors)", file) from None
        cfg = MonitorsConfig(path=None)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file) from exc
    else:
        cfg = parse_monitors(text, file, check_query=check_query)
    if not legacy_digests:
        return cfg
    digests = load_digests(digests_path(sources_config))
    if not digests.profiles:
        return cfg
    log.warning(
        "%s is deprecated: its profiles are read as daily monitors; move them to %s",
        digests.path,
        file,
    )
    own = {m.name for m in cfg.monitors}
    extra = tuple(_from_profile(p) for p in digests.profiles if p.name not in own)
    return MonitorsConfig(
        path=cfg.path, monitors=cfg.monitors + extra, smtp=cfg.smtp or digests.smtp, digests=digests
    )


def _from_profile(profile: DigestProfile) -> Monitor:
    parts = profile.schedule.split()
    cadence = Cadence("daily", 7, 0)
    if len(parts) == 5 and parts[0].isdigit() and parts[1].isdigit() and parts[2:] == ["*"] * 3:
        cadence = Cadence("daily", int(parts[1]), int(parts[0]))
    return Monitor(
        name=profile.name,
        topics=profile.topics,
        sources=profile.sources,
        cadence=cadence,
        deliver=Delivery(
            markdown=profile.markdown, markdown_dir=profile.markdown_dir, email=profile.email
        ),
        digest_profile=True,
        line=profile.line,
    )


QueryCheck = Callable[[str], "str | None"]


def parse_monitors(
    text: str, file: Path, *, check_query: QueryCheck | None = None
) -> MonitorsConfig:
    """Validate a monitors file. `check_query` says what is wrong with a query (None: fine);
    the app passes the search language's own check (core.search.query.query_problem)."""
    data, lines = load_yaml(text, file)
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with 'monitors:' at the top level", file, 1)
    model = validate(MonitorsModel, data, lines, file, aliases={"sender": "from"})
    names = UniqueNames("monitor name", "monitors", "name", lines, file)
    out: list[Monitor] = []
    for i, m in enumerate(model.monitors):
        line = lines.line_for(("monitors", i))
        names.add(i, m.name)
        if m.query is None and not (m.topics or m.sources or m.entities):
            raise ConfigError(
                f"monitors[{i}]: give at least one of query, topics, sources, entities",
                file,
                line,
            )
        problem = check_query(m.query) if m.query is not None and check_query else None
        if problem is not None:
            raise ConfigError(
                f"monitors[{i}].query: {problem}", file, lines.line_for(("monitors", i, "query"))
            )
        d = m.deliver
        if d.email is not None and model.smtp is None:
            raise ConfigError(
                f"monitors[{i}].deliver.email: e-mail needs an 'smtp:' section (host, port, ...)",
                file,
                lines.line_for(("monitors", i, "deliver", "email")),
            )
        if not (d.markdown or d.email or d.webhook or d.apprise):
            raise ConfigError(
                f"monitors[{i}].deliver: give at least one of markdown, email, webhook, apprise",
                file,
                lines.line_for(("monitors", i, "deliver")),
            )
        out.append(
            Monitor(
                name=m.name,
                query_text=m.query,
                topics=tuple(m.topics),
                sources=tuple(m.sources),
                entities=tuple(m.entities),
                cadence=parse_cadence(m.cadence),
                deliver=Delivery(
                    markdown=d.markdown is not False,
                    markdown_dir=d.markdown if isinstance(d.markdown, str) else None,
                    email=d.email.output() if d.email else None,
                    subject=d.email.subject if d.email else "feedwatch {monitor}: {count}",
                    webhook=Webhook(d.webhook.url, d.webhook.secret_env) if d.webhook else None,
                    apprise=tuple(d.apprise),
                ),
                enabled=m.enabled,
                line=line,
            )
        )
    smtp = model.smtp.config() if model.smtp is not None else None
    return MonitorsConfig(path=file, monitors=tuple(out), smtp=smtp)
