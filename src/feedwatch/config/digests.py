"""Load the digest profiles (config/digests.yaml) into frozen values, with file:line errors.

The file sits next to the sources config (``digests.yaml`` in the same folder); its format is
documented at the top of the shipped ``config/digests.yaml``. The SMTP password never lives
here: it comes from ``FEEDWATCH_SMTP_PASSWORD``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from string import Formatter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from feedwatch.config._yaml import UniqueNames, load_yaml, validate
from feedwatch.config.sources import Duration
from feedwatch.errors import ConfigError
from feedwatch.types import DEFAULT_SUBJECT, DigestProfile, DigestsConfig, EmailOutput, SmtpConfig

DIGESTS_FILE = "digests.yaml"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_ADDRESS_RE = re.compile(r"^[^\s<>@,;\"]+@[^\s<>@,;\"]+\.[^\s<>@,;\"]+$")
__all__ = [
    "DigestProfile",
    "DigestsConfig",
    "EmailOutput",
    "SmtpConfig",
    "digests_path",
    "load_digests",
    "parse_digests",
]
SUBJECT_FIELDS = ("profile", "title", "date", "count", "topics")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_address(v: str) -> str:
    v = v.strip()
    bare = v.rsplit("<", 1)[1].rstrip(">").strip() if "<" in v else v
    if any(c in v for c in "\r\n") or not _ADDRESS_RE.match(bare):
        raise ValueError(f"expected an e-mail address such as name@example.org, got {v!r}")
    return v


class EmailModel(_Model):
    to: list[str] = Field(min_length=1)
    cc: list[str] = []
    sender: str = Field(default="feedwatch <feedwatch@localhost>", alias="from")
    subject: str = DEFAULT_SUBJECT

    @field_validator("to", "cc")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        return [_check_address(a) for a in v]

    @field_validator("sender")
    @classmethod
    def _sender(cls, v: str) -> str:
        return _check_address(v)

    def output(self) -> EmailOutput:
        """The addresses as the mail shell takes them."""
        return EmailOutput(to=tuple(self.to), cc=tuple(self.cc), sender=self.sender)

    @field_validator("subject")
    @classmethod
    def _subject(cls, v: str) -> str:
        try:
            names = [f for _lit, f, _spec, _conv in Formatter().parse(v) if f is not None]
        except ValueError as exc:
            raise ValueError(f"subject: {exc}") from None
        bad = [n for n in names if n not in SUBJECT_FIELDS]
        if bad:
            raise ValueError(
                f"subject: unknown placeholder {{{bad[0]}}}; expected one of "
                + ", ".join("{" + f + "}" for f in SUBJECT_FIELDS)
            )
        return v


class OutputsModel(_Model):
    markdown: bool | str = True  # true, false, or a directory
    email: EmailModel | None = None


class ProfileModel(_Model):
    name: str
    title: str = ""
    topics: list[str] = []
    sources: list[str] = []
    schedule: str = "0 7 * * *"
    language: Literal["nl", "en"] = "nl"
    empty: Literal["send", "skip"] = "send"
    outputs: OutputsModel = OutputsModel()

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME_RE.match(v):
            raise ValueError(f"expected lower-case letters, digits and '-', got {v!r}")
        return v

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: str) -> str:
        check_cron(v)
        return v


class SmtpModel(_Model):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    user: str | None = None
    timeout: Duration = timedelta(seconds=30)
    retries: int = Field(default=3, ge=0, le=20)
    retry_delay: Duration = timedelta(seconds=10)

    def config(self) -> SmtpConfig:
        """The section as the mail shell takes it (durations in seconds)."""
        return SmtpConfig(
            host=self.host,
            port=self.port,
            security=self.security,
            user=self.user,
            timeout=self.timeout.total_seconds(),
            retries=self.retries,
            retry_delay=self.retry_delay.total_seconds(),
        )


class DigestsModel(_Model):
    smtp: SmtpModel | None = None
    profiles: list[ProfileModel] = []


def check_cron(expr: str) -> None:
    """A five-field crontab expression, or ValueError in plain words."""
    # APScheduler's own cron parser, as the daemon will use it; loaded only to check a schedule
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expr, timezone="Europe/Amsterdam")
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"expected a cron expression such as '0 7 * * *' (minute hour day month weekday), "
            f"got {expr!r}: {exc}"
        ) from None


def digests_path(sources_config: Path | str | None) -> Path:
    """digests.yaml next to the sources config (default config/digests.yaml)."""
    base = Path(sources_config) if sources_config is not None else Path("config/feeds.yaml")
    return base.parent / DIGESTS_FILE


def load_digests(
    path: Path | str, *, environ: Mapping[str, str] | None = None, required: bool = False
) -> DigestsConfig:
    """Read and validate a digests file; a missing file means no profiles unless `required`."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigError("file not found (expected digest profiles)", file) from None
        return DigestsConfig(path=None)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file) from exc
    return parse_digests(text, file, environ=environ)


def parse_digests(
    text: str, file: Path, *, environ: Mapping[str, str] | None = None
) -> DigestsConfig:
    _ = os.environ if environ is None else environ  # the password is read by the mail shell
    data, lines = load_yaml(text, file)
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with 'profiles:' at the top level", file, 1)
    model = validate(DigestsModel, data, lines, file, aliases={"sender": "from"})
    names = UniqueNames("profile name", "profiles", "name", lines, file)
    profiles: list[DigestProfile] = []
    for i, p in enumerate(model.profiles):
        line = lines.line_for(("profiles", i))
        names.add(i, p.name)
        mail = p.outputs.email
        if mail is not None and model.smtp is None:
            raise ConfigError(
                f"profiles[{i}].outputs.email: e-mail needs an 'smtp:' section (host, port, ...)",
                file,
                lines.line_for(("profiles", i, "outputs", "email")),
            )
        md = p.outputs.markdown
        profiles.append(
            DigestProfile(
                name=p.name,
                title=p.title,
                topics=tuple(p.topics),
                sources=tuple(p.sources),
                schedule=p.schedule,
                language=p.language,
                empty=p.empty,
                markdown=md is not False,
                markdown_dir=md if isinstance(md, str) else None,
                email=mail.output() if mail else None,
                subject=mail.subject if mail else DEFAULT_SUBJECT,
                line=line,
            )
        )
    smtp = model.smtp.config() if model.smtp is not None else None
    return DigestsConfig(path=file, profiles=tuple(profiles), smtp=smtp)
