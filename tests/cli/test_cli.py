"""The command line: every command has help; usage errors exit 2."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from feedwatch.cli import cli, parse_cli_date


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, (*prefix, name)))
    return out


ALL = _commands(cli)


def test_the_documented_commands_exist() -> None:
    names = {" ".join(c) for c in ALL}
    assert {"fetch", "sources", "items", "db", "db upgrade"} <= names


@pytest.mark.parametrize("command", ALL, ids=[" ".join(c) for c in ALL])
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output
    doc_line = result.output.split("\n\n")[1].strip()
    assert len(doc_line) > 10  # a real sentence, not an empty docstring


def test_top_level_help_and_version() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0 and "--database-url" in result.output
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and "feedwatch" in result.output


def test_unknown_source_is_a_usage_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text("sources:\n  - {key: a, name: A, url: 'https://example.org/feed'}\n")
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(cfg),
            "--database-url",
            f"sqlite:///{tmp_path}/x.db",
            "fetch",
            "--source",
            "b",
        ],
    )
    assert result.exit_code == 2 and "unknown source key(s): b" in result.output


def test_bad_date_is_a_usage_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        cli, ["--database-url", f"sqlite:///{tmp_path}/x.db", "items", "--since", "gisteren"]
    )
    assert result.exit_code == 2 and "expected YYYY-MM-DD" in result.output


def test_cli_dates_are_amsterdam_days() -> None:
    assert parse_cli_date("2026-07-01").isoformat() == "2026-06-30T22:00:00+00:00"
    assert parse_cli_date("2026-12-01").isoformat() == "2026-11-30T23:00:00+00:00"
    assert parse_cli_date("2026-12-01", end=True).isoformat() == "2026-12-01T23:00:00+00:00"
    assert parse_cli_date("2026-12-01T10:00:00Z").isoformat() == "2026-12-01T10:00:00+00:00"
