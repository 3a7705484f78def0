"""Monitors end to end on SQLite and PostgreSQL: matching new items, due times, one message per
run and channel, webhooks (signed, idempotent, retried), Apprise and e-mail on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from builders import put
from httpserver import Request, TestServer

from feedwatch.app.notify import NotifySettings, notify_due
from feedwatch.config.monitors import MonitorsConfig, parse_monitors
from feedwatch.core.search.query import query_problem
from feedwatch.edges.http.netpolicy import AddressPolicy
from feedwatch.edges.store import ItemRow, Store
from feedwatch.edges.store import deliveries as db
from feedwatch.types import Item

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LOCAL = AddressPolicy(allowed=())  # refuses 127.0.0.1
OPEN = AddressPolicy(allow_private=True)


def row(
    iid: str,
    title: str,
    summary: str = "",
    source: str = "coa",
    topics: tuple[str, ...] = (),
    at: datetime = T0,
) -> ItemRow:
    item = Item(
        id=iid,
        source=source,
        url=f"https://{source}.example/{iid}",
        title=title,
        summary=summary,
        published=at,
        date_source="feed",
        first_seen=at,
        lang="nl",
        content_hash=hashlib.sha256(f"{iid}{title}{summary}".encode()).hexdigest(),
    )
    return ItemRow(item=item, topics=topics)


class Receiver:
    """A webhook endpoint on the test server: records bodies and headers, answers `statuses`
    in turn (then 200)."""

    def __init__(
        self, server: TestServer, path: str = "/hook", statuses: tuple[int, ...] = ()
    ) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.raw: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.statuses = list(statuses)
        self.lock = threading.Lock()
        server.route(path, handler=self)
        self.url = server.url(path)

    def __call__(self, req: Request) -> None:
        n = int(req.headers.get("content-length", "0"))
        body = req.raw.rfile.read(n)
        with self.lock:
            status = self.statuses.pop(0) if self.statuses else 200
            self.raw.append(body)
            self.bodies.append(json.loads(body))
            self.headers.append(dict(req.headers))
        req.respond(status, b"ok" if status == 200 else b"no")

    def delivered(self) -> list[dict[str, Any]]:
        """Bodies answered with 200 (the receiver's view of what arrived)."""
        return self.bodies


def config(text: str) -> MonitorsConfig:
    return parse_monitors(text, Path("monitors.yaml"), check_query=query_problem)


def settings(tmp_path: Path, policy: AddressPolicy = OPEN, **kw: Any) -> NotifySettings:
    return NotifySettings(
        policy=policy, out_dir=tmp_path / "out", environ=kw.pop("environ", {}), **kw
    )


def hook_config(url: str, *, cadence: str = "immediate", extra: str = "") -> MonitorsConfig:
    return config(
        f"""
monitors:
  - name: azc
    query: azc
    cadence: {cadence}
    deliver:
      webhook: {{url: "{url}", secret_env: HOOK_SECRET}}
{extra}
"""
    )


def test_immediate_webhook_sends_new_matches_once_signed_and_idempotent(
    store: Store, http_server: TestServer, tmp_path: Path
) -> None:
    recv = Receiver(http_server)
    cfg = hook_config(recv.url)
    env = {"HOOK_SECRET": "s3cret"}
    put(store, [row("old", "azc in het archief")])
    # a new monitor starts with what comes next, not with the archive
    assert notify_due(store, cfg, T0, settings=settings(tmp_path, environ=env)) == []
    put(
        store,
        [row("a1", "Nieuw AZC in Budel", "<b>Gemeente</b> akkoord"), row("a2", "Over iets anders")],
    )
    results = notify_due(
        store, cfg, T0 + timedelta(minutes=1), settings=settings(tmp_path, environ=env)
    )
    assert [(r.status, r.items) for r in results] == [("sent", 1)]
    assert len(recv.bodies) == 1
    body, headers, raw = recv.bodies[0], recv.headers[0], recv.raw[0]
    assert body["monitor"] == "azc"
    assert body["delivery"] == results[0].delivery
    assert headers["idempotency-key"] == str(results[0].delivery)
    expected = "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    assert headers["x-feedwatch-signature"] == expected
    [item] = body["items"]
    assert item["id"] == "a1"
    assert item["matched"] == ["azc"]
    assert item["summary"] == "<b>Gemeente</b> akkoord"  # data in JSON, never rendered by us
    assert set(item) >= {
        "id",
        "url",
        "title",
        "summary",
        "published",
        "source",
        "topics",
        "matched",
    }
    # nothing new: nothing sent; a new match: only it
    assert (
        notify_due(store, cfg, T0 + timedelta(minutes=2), settings=settings(tmp_path, environ=env))
        == []
    )
    put(store, [row("a3", "Azc's vol", at=T0 + timedelta(minutes=3))])
    notify_due(store, cfg, T0 + timedelta(minutes=4), settings=settings(tmp_path, environ=env))
    assert [[i["id"] for i in b["items"]] for b in recv.bodies] == [["a1"], ["a3"]]


def test_a_webhook_answering_500_twice_is_retried_with_backoff_and_sent_once(
    store: Store, http_server: TestServer, tmp_path: Path
) -> None:
    recv = Receiver(http_server, statuses=(500, 500))
    cfg = hook_config(recv.url)
    env = {"HOOK_SECRET": "x"}
    notify_due(store, cfg, T0, settings=settings(tmp_path, environ=env))
    put(store, [row("a1", "azc een"), row("a2", "azc twee")])
    first = notify_due(store, cfg, T0, settings=settings(tmp_path, environ=env))
    assert [r.status for r in first] == ["pending"] and "HTTP 500" in (first[0].error or "")
    # before the backoff has passed nothing is tried
    assert (
        notify_due(store, cfg, T0 + timedelta(seconds=30), settings=settings(tmp_path, environ=env))
        == []
    )
    second = notify_due(
        store, cfg, T0 + timedelta(minutes=1), settings=settings(tmp_path, environ=env)
    )
    assert [r.status for r in second] == ["pending"]
    assert (
        notify_due(store, cfg, T0 + timedelta(minutes=2), settings=settings(tmp_path, environ=env))
        == []
    )
    third = notify_due(
        store, cfg, T0 + timedelta(minutes=3), settings=settings(tmp_path, environ=env)
    )
    assert [r.status for r in third] == ["sent"]
    assert len(recv.bodies) == 3
    assert {h["idempotency-key"] for h in recv.headers} == {str(first[0].delivery)}
    assert (
        notify_due(store, cfg, T0 + timedelta(hours=1), settings=settings(tmp_path, environ=env))
        == []
    )
    assert len(recv.bodies) == 3
    [d] = db.pending_deliveries(store.engine) or [None]
    assert d is None


def test_a_missing_secret_keeps_the_delivery_pending(
    store: Store, http_server: TestServer, tmp_path: Path
) -> None:
    recv = Receiver(http_server)
    cfg = hook_config(recv.url)
    notify_due(store, cfg, T0, settings=settings(tmp_path))
    put(store, [row("a1", "azc")])
    [r] = notify_due(store, cfg, T0, settings=settings(tmp_path))
    assert r.status == "pending" and "HOOK_SECRET is not set" in (r.error or "")
    assert recv.bodies == []


def test_monitors_sharing_a_channel_send_one_message_naming_all_monitors(
    store: Store, http_server: TestServer, tmp_path: Path
) -> None:
    recv = Receiver(http_server)
    cfg = config(
        f"""
monitors:
  - name: azc
    query: azc
    cadence: immediate
    deliver: {{webhook: {{url: "{recv.url}"}}}}
  - name: budel
    query: budel OR topic:asielzoekerscentrum
    cadence: immediate
    deliver: {{webhook: {{url: "{recv.url}"}}}}
"""
    )
    notify_due(store, cfg, T0, settings=settings(tmp_path))
    put(
        store,
        [
            row("a1", "AZC in Budel", topics=("asielzoekerscentrum",)),
            row("a2", "Azc Ter Apel"),
            row("a3", "Budel"),
        ],
    )
    notify_due(store, cfg, T0, settings=settings(tmp_path))
    assert len(recv.bodies) == 1
    body = recv.bodies[0]
    assert body["monitors"] == ["azc", "budel"]
    got = {i["id"]: (i["monitors"], i["matched"]) for i in body["items"]}
    assert got == {
        "a1": (["azc", "budel"], ["azc", "budel", "topic:asielzoekerscentrum"]),
        "a2": (["azc"], ["azc"]),
        "a3": (["budel"], ["budel"]),
    }


def test_the_address_policy_applies_to_webhooks(
    store: Store, http_server: TestServer, tmp_path: Path
) -> None:
    recv = Receiver(http_server)
    cfg = hook_config(recv.url)
    env = {"HOOK_SECRET": "x"}
    notify_due(store, cfg, T0, settings=settings(tmp_path, LOCAL, environ=env))
    put(store, [row("a1", "azc")])
    [r] = notify_due(store, cfg, T0, settings=settings(tmp_path, LOCAL, environ=env))
    assert r.status == "pending" and "refused" in (r.error or "") and "loopback" in (r.error or "")
    assert recv.bodies == []
    # allowing 127.0.0.1 explicitly (as network.allow_private: ["127.0.0.1/32"]) lets it through
    allowed = AddressPolicy.from_setting(["127.0.0.1/32"])
    [r] = notify_due(
        store, cfg, T0 + timedelta(hours=1), settings=settings(tmp_path, allowed, environ=env)
    )
    assert r.status == "sent" and len(recv.bodies) == 1


def test_apprise_delivers_plain_text_to_a_local_json_endpoint_and_obeys_the_policy(
    store: Store, http_server: TestServer, tmp_path: Path
) -> None:
    recv = Receiver(http_server, path="/apprise")
    target = recv.url.replace("http://", "json://")
    cfg = config(
        f"""
monitors:
  - name: azc
    query: azc
    cadence: immediate
    deliver: {{apprise: ["{target}"]}}
"""
    )
    notify_due(store, cfg, T0, settings=settings(tmp_path))
    put(store, [row("a1", "Nieuw <script>alert(1)</script> AZC [klik](https://evil.example)")])
    [r] = notify_due(store, cfg, T0, settings=settings(tmp_path, LOCAL))
    assert r.status == "pending" and "refused" in (r.error or "")
    assert recv.bodies == []
    [r] = notify_due(store, cfg, T0 + timedelta(hours=1), settings=settings(tmp_path))
    assert r.status == "sent"
    [body] = recv.bodies
    text = body["message"]
    assert "azc" in body["title"]
    assert "<script>" not in text and "[klik](" not in text
    assert "‹script›alert(1)‹/script›" in text


class Smtp:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Smtp, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Smtp()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def test_a_daily_email_monitor_sends_at_its_time_one_message_with_safe_headers(
    store: Store, smtp: tuple[Smtp, int], tmp_path: Path
) -> None:
    handler, port = smtp
    cfg = config(
        f"""
smtp: {{host: 127.0.0.1, port: {port}, security: none}}
monitors:
  - name: dagelijks-azc
    query: azc
    cadence: daily 07:00
    deliver:
      email: {{to: [redactie@example.org], subject: "{{monitor}}: {{count}} op {{date}}"}}
      markdown: true
"""
    )
    evening = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    notify_due(store, cfg, evening, settings=settings(tmp_path))  # the monitor starts here
    put(
        store,
        [row("a1", "AZC\r\nBcc: evil@example.org", at=evening), row("a2", "azc twee", at=evening)],
    )
    assert notify_due(store, cfg, evening + timedelta(hours=1), settings=settings(tmp_path)) == []
    assert handler.messages == []
    seven = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # 07:00 in Amsterdam
    results = notify_due(store, cfg, seven, settings=settings(tmp_path))
    assert sorted(r.status for r in results) == ["sent", "sent"]
    [raw] = handler.messages
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "dagelijks-azc: 2 op 2026-12-02"
    assert msg["Bcc"] is None
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "AZC Bcc: evil@example.org" in text
    [md] = list((tmp_path / "out" / "monitors" / "dagelijks-azc").glob("*.md"))
    assert "azc twee" in md.read_text(encoding="utf-8")
    # the next run is tomorrow at 07:00
    assert notify_due(store, cfg, seven + timedelta(hours=5), settings=settings(tmp_path)) == []
    put(store, [row("a3", "azc drie", at=seven)])
    assert notify_due(store, cfg, seven + timedelta(hours=5), settings=settings(tmp_path)) == []
    results = notify_due(store, cfg, seven + timedelta(days=1), settings=settings(tmp_path))
    assert len(handler.messages) == 2 and all(r.items == 1 for r in results)


def test_two_senders_racing_deliver_each_match_once(
    store: Store, http_server: TestServer, tmp_path: Path
) -> None:
    recv = Receiver(http_server)
    cfg = hook_config(recv.url)
    env = {"HOOK_SECRET": "x"}
    notify_due(store, cfg, T0, settings=settings(tmp_path, environ=env))
    put(store, [row(f"a{i}", f"azc {i}") for i in range(30)])
    errors: list[BaseException] = []

    def run(owner: str) -> None:
        try:
            notify_due(store, cfg, T0, settings=settings(tmp_path, environ=env, owner=owner))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ids = [i["id"] for b in recv.bodies for i in b["items"]]
    assert sorted(ids) == sorted(f"a{i}" for i in range(30))


def test_monitor_with_topics_and_sources_and_no_query(store: Store, tmp_path: Path) -> None:
    cfg = config(
        """
monitors:
  - name: coa-azc
    topics: [asielzoekerscentrum]
    sources: [coa]
    cadence: immediate
    deliver: {markdown: true}
"""
    )
    notify_due(store, cfg, T0, settings=settings(tmp_path))
    put(
        store,
        [
            row("a1", "een", topics=("asielzoekerscentrum",)),
            row("a2", "twee", source="rijk", topics=("asielzoekerscentrum",)),
            row("a3", "drie"),
        ],
    )
    [r] = notify_due(store, cfg, T0, settings=settings(tmp_path))
    assert r.status == "sent" and r.items == 1
    over = db.monitor_overview(store.engine, ["coa-azc"])["coa-azc"]
    assert (over.matches, over.undelivered) == (1, 0)
