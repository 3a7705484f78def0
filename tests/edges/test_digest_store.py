"""Digests against a real store (SQLite and PostgreSQL): windows without gaps or repeats,
pending -> sent exactly once, crashes, --force, source health from the fetch log, the CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from builders import (
    AMS_DAY,
    CFG,
    MAIL_PROFILE,
    T0,
    add_sources,
    make_rows,
    put,
)
from builders import TEAM_PROFILE as PROFILE
from click.testing import CliRunner

from feedwatch.app.deliver import run_digest
from feedwatch.app.pipeline import write_update
from feedwatch.cli import cli
from feedwatch.config.digests import SmtpConfig
from feedwatch.core.digest import assess_health
from feedwatch.edges.store import ItemRow, SourceUpdate, Store
from feedwatch.errors import DeliveryError
from feedwatch.types import Item


def item(i: int, first_seen: datetime, topic: str = "migratie", source: str = "rijk") -> ItemRow:
    return ItemRow(
        item=Item(
            id=f"it{i:03d}",
            source=source,
            url=f"https://example.org/bericht/{i}",
            title=f"Bericht nummer {i} over opvang en beleid onderwerp{i}",
            summary="Een korte samenvatting.",
            published=first_seen - timedelta(hours=1),
            date_source="feed",
            first_seen=first_seen,
            content_hash=f"h{i}",
        ),
        topics=(topic,),
    )


class Mailer:
    """Stands in for mail.send: records messages, or fails as told."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.sent: list[EmailMessage] = []
        self.fail = fail

    def __call__(self, msg: EmailMessage, cfg: SmtpConfig) -> int:
        if self.fail is not None:
            raise self.fail
        self.sent.append(msg)
        return 1


def ids_of(store: Store, profile: str, period: str) -> list[str]:
    record = store.get_digest(profile, period)
    assert record is not None
    return sorted(r.item.id for r in store.digest_rows(record))


def test_windows_leave_no_gaps_or_repeats_across_days_and_restarts(
    db_url: str, tmp_path: Path
) -> None:
    # items first seen every 5 hours over three days, two exactly on a digest's boundary
    times = [T0 + timedelta(hours=5 * i) for i in range(15)]
    day1_now = T0 + timedelta(hours=7)  # a digest at 08:00 Amsterdam
    times += [day1_now, T0 + timedelta(days=1, hours=7)]
    rows = [item(i, t) for i, t in enumerate(times)]
    seen: list[str] = []
    for n, day in enumerate((AMS_DAY, AMS_DAY + timedelta(days=1), AMS_DAY + timedelta(days=2))):
        now = T0 + timedelta(days=n, hours=7)
        store = Store(db_url)  # a fresh process every morning
        put(store, [r for r in rows if r.item.first_seen < now and r.item.id not in seen])
        (run,) = run_digest(store, CFG, PROFILE, day, now, out=tmp_path, titles={})
        assert run.status == "sent"
        got = ids_of(store, "team", day.isoformat())
        assert not set(got) & set(seen)
        seen += got
        store.close()
    expected = sorted(
        r.item.id for r in rows if r.item.first_seen < T0 + timedelta(days=2, hours=7)
    )
    assert sorted(seen) == expected


def test_failed_send_stays_pending_and_the_next_run_sends_exactly_once(
    store: Store, tmp_path: Path
) -> None:
    put(store, make_rows(hostile=False, first_seen=T0 + timedelta(hours=1)))
    cfg = replace(CFG, profiles=(MAIL_PROFILE,))
    now = T0 + timedelta(hours=8)
    down = Mailer(DeliveryError("SMTP 127.0.0.1:1: refused", temporary=True))
    (run,) = run_digest(store, cfg, MAIL_PROFILE, AMS_DAY, now, out=tmp_path, titles={}, send=down)
    assert run.status == "pending" and "refused" in (run.error or "")
    record = store.get_digest("team", "2026-11-22")
    assert record is not None and record.status == "pending" and record.attempts == 1
    assert run.markdown is not None and run.markdown.exists()

    up = Mailer()
    later = now + timedelta(hours=1)
    (run,) = run_digest(store, cfg, MAIL_PROFILE, AMS_DAY, later, out=tmp_path, titles={}, send=up)
    assert run.status == "sent" and len(up.sent) == 1
    (again,) = run_digest(
        store, cfg, MAIL_PROFILE, AMS_DAY, later, out=tmp_path, titles={}, send=up
    )
    assert again.status == "already-sent" and len(up.sent) == 1
    # the item list was frozen when the digest was created: same stories in the mail
    assert run.items == 3

    (forced,) = run_digest(
        store, cfg, MAIL_PROFILE, AMS_DAY, later, out=tmp_path, titles={}, send=up, force=True
    )
    assert forced.status == "sent" and len(up.sent) == 2
    assert up.sent[0]["Message-ID"] != up.sent[1]["Message-ID"]


def test_a_crash_between_creating_and_sending_leaves_it_pending(
    store: Store, tmp_path: Path
) -> None:
    put(store, make_rows(hostile=False, first_seen=T0 + timedelta(hours=1)))
    cfg = replace(CFG, profiles=(MAIL_PROFILE,))
    now = T0 + timedelta(hours=8)
    with pytest.raises(KeyboardInterrupt):
        run_digest(
            store, cfg, MAIL_PROFILE, AMS_DAY, now, out=tmp_path, titles={},
            send=Mailer(KeyboardInterrupt()),
        )  # fmt: skip
    record = store.get_digest("team", "2026-11-22")
    assert record is not None and record.status == "pending" and record.item_count == 5
    # new items arriving after the crash belong to the next digest, not this one
    put(store, [item(900, now + timedelta(minutes=5), source="ngo")])
    up = Mailer()
    run_digest(
        store,
        cfg,
        MAIL_PROFILE,
        AMS_DAY,
        now + timedelta(hours=1),
        out=tmp_path,
        titles={},
        send=up,
    )
    assert len(up.sent) == 1
    assert ids_of(store, "team", "2026-11-22") == ["a1", "a2", "a3", "b1", "b2"]


def test_an_earlier_pending_digest_goes_out_first(store: Store, tmp_path: Path) -> None:
    put(store, [item(1, T0 + timedelta(hours=2)), item(2, T0 + timedelta(days=1, hours=2))])
    cfg = replace(CFG, profiles=(MAIL_PROFILE,))
    down = Mailer(DeliveryError("down", temporary=True))
    day1 = T0 + timedelta(hours=7)
    run_digest(store, cfg, MAIL_PROFILE, AMS_DAY, day1, out=tmp_path, titles={}, send=down)
    up = Mailer()
    runs = run_digest(
        store, cfg, MAIL_PROFILE, AMS_DAY + timedelta(days=1), day1 + timedelta(days=1),
        out=tmp_path, titles={}, send=up,
    )  # fmt: skip
    assert [(r.period, r.status) for r in runs] == [("2026-11-22", "sent"), ("2026-11-23", "sent")]
    assert [r.items for r in runs] == [1, 1] and len(up.sent) == 2


def test_creating_the_same_digest_twice_returns_the_first(store: Store) -> None:
    kw: dict[str, Any] = {
        "profile": "p", "period": "2026-11-22", "since": T0, "until": T0 + timedelta(hours=1),
        "health": [], "now": T0,
    }  # fmt: skip
    first = store.create_digest(item_ids=[], **kw)
    second = store.create_digest(item_ids=["x"], **kw)
    assert first == second and second.item_count == 0


def test_skip_profile_sends_nothing_on_an_empty_day_unless_a_source_needs_attention(
    store: Store, tmp_path: Path
) -> None:
    profile = replace(PROFILE, empty="skip")
    now = T0 + timedelta(hours=7)
    (run,) = run_digest(store, CFG, profile, AMS_DAY, now, out=tmp_path, titles={})
    assert run.status == "skipped" and not (tmp_path / "digests").exists()
    add_sources(store, ["krant"])
    write_update(store,
        SourceUpdate(
            key="krant", started_at=now + timedelta(hours=1), duration=30.0, outcome="error",
            url="https://krant.example/f", error="no complete answer within the 30 s deadline",
            error_kind="timeout",
        )
    )  # fmt: skip
    (run,) = run_digest(
        store,
        CFG,
        profile,
        AMS_DAY + timedelta(days=1),
        now + timedelta(days=1),
        out=tmp_path,
        titles={},
    )
    assert run.status == "sent" and run.markdown is not None
    text = run.markdown.read_text(encoding="utf-8")
    assert "Geen nieuwe berichten." in text and "de website antwoordde niet op tijd" in text


def test_source_facts_come_from_the_fetch_log(store: Store) -> None:
    add_sources(store, ["krant"])
    add_sources(store, ["pagina"], kind="html")
    since = T0
    for h in (1, 2, 3):
        write_update(store,
            SourceUpdate(
                key="krant", started_at=since + timedelta(hours=h), duration=1.0, outcome="error",
                url="u", error="HTTP 503 Service Unavailable", error_kind="http", http_status=503,
            )
        )  # fmt: skip
    rows = [item(i, since - timedelta(days=20 - i), source="pagina") for i in range(6)]
    put(store, rows, at=since - timedelta(days=2))
    write_update(
        store,
        SourceUpdate(
            key="pagina", started_at=since + timedelta(hours=4), duration=1.0, outcome="ok", url="u"
        ),
    )
    facts = {f.key: f for f in store.source_facts(since, since + timedelta(days=1))}
    krant = facts["krant"]
    assert len(krant.errors) == 3 and krant.consecutive_errors == 3
    assert krant.first_failure_at == since + timedelta(hours=1)
    assert facts["pagina"].reads == (0, 6)
    assert len(facts["pagina"].item_dates) == 6
    notes = assess_health(facts.values(), since, since + timedelta(days=1))
    assert [(n.source, n.kind) for n in notes] == [("krant", "failing"), ("pagina", "empty")]
    assert "de website gaf een foutmelding (HTTP 503 Service Unavailable)" in notes[0].detail


# ------------------------------------------------------------------------------------ CLI


@pytest.fixture
def cli_env(tmp_path: Path) -> Callable[..., Any]:
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text("sources:\n  - {key: rijk, name: Rijk, url: 'https://rijk.example/f'}\n")
    (tmp_path / "digests.yaml").write_text("profiles:\n  - name: team\n    topics: [migratie]\n")
    url = f"sqlite:///{tmp_path / 'fw.db'}"

    def invoke(*args: str) -> Any:
        return CliRunner().invoke(
            cli,
            ["--config", str(cfg), "--database-url", url, *args],
            env={"FEEDWATCH_OUTPUT_DIR": str(tmp_path / "out")},
        )

    invoke.url = url  # type: ignore[attr-defined]
    invoke.out = tmp_path / "out"  # type: ignore[attr-defined]
    return invoke


def test_cli_digest_dry_run_then_real_run(cli_env: Callable[..., Any]) -> None:
    store = Store(cli_env.url)  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    put(store, [item(1, now - timedelta(minutes=1))])
    store.close()
    today = now.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Amsterdam")).date().isoformat()
    dry = cli_env("digest", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith("# Dagoverzicht team") and "Bericht nummer 1" in dry.output
    assert not cli_env.out.exists()  # type: ignore[attr-defined]
    real = cli_env("digest", "--profile", "team")
    assert real.exit_code == 0, real.output
    assert f"team {today}: sent, 1 items" in real.output
    assert (cli_env.out / "digests" / "team" / f"{today}.md").exists()  # type: ignore[attr-defined]
    again = cli_env("digest")
    assert "already-sent" in again.output


def test_cli_digest_usage_errors(cli_env: Callable[..., Any]) -> None:
    assert cli_env("digest", "--profile", "nobody").exit_code == 2
    bad_date = cli_env("digest", "--date", "morgen")
    assert bad_date.exit_code == 2 and "YYYY-MM-DD" in bad_date.output
