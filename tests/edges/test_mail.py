"""SMTP delivery against a real SMTP server (aiosmtpd on 127.0.0.1): MIME structure, hostile
fixtures arriving inert, retries on 4xx, no retry on 5xx, server down -> pending -> sent once."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from builders import AMS_DAY, MAIL_PROFILE, T0, assert_inert_html, make_rows, put

from feedwatch.app.deliver import run_digest
from feedwatch.config.digests import DigestsConfig, SmtpConfig
from feedwatch.edges import mail
from feedwatch.edges.store import Store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Handler:
    """Keeps what arrives; answers the first `fail` DATA commands with `code`."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.fail = 0
        self.code = "451 4.3.0 try again later"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.fail:
            self.fail -= 1
            return self.code
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"fw", b"geheim")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Handler, int]]:
    handler = Handler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=_auth,
        auth_require_tls=False,
    )
    controller.start()
    yield handler, port
    controller.stop()


def config(port: int, **kw: Any) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, security="none", timeout=5, retries=0, **kw)


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_the_digest_arrives_with_both_parts_and_hostile_fields_inert(
    smtp_server: tuple[Handler, int], store: Store, tmp_path: Path
) -> None:
    handler, port = smtp_server
    put(store, make_rows(first_seen=T0 + timedelta(hours=1)))
    profile = replace(
        MAIL_PROFILE,
        email=replace(MAIL_PROFILE.email, cc=("cc@example.org",)),  # type: ignore[arg-type]
        subject="{title}: {count} — {topics}",
    )
    cfg = DigestsConfig(path=None, profiles=(profile,), smtp=config(port))
    (run,) = run_digest(store, cfg, profile, AMS_DAY, T0 + timedelta(hours=8), out=tmp_path)
    assert run.status == "sent", run.error
    (mail_from, rcpts, raw) = handler.messages[0]
    assert mail_from == "fw@example.org"
    assert sorted(rcpts) == ["cc@example.org", "team@example.org"]
    msg = parse(raw)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    # a title with CR/LF added no header
    assert msg["Bcc"] is None and msg["X-Test"] is None
    assert msg["Subject"].startswith("team: 7 — ")
    assert msg["Message-ID"] == store.get_digest("team", "2026-11-22").message_id  # type: ignore[union-attr]
    text_part = msg.get_body(("plain",))
    html_part = msg.get_body(("html",))
    assert text_part is not None and html_part is not None
    text, html = text_part.get_content(), html_part.get_content()
    assert "Kabinet opent nieuw aanmeldcentrum voor asielzoekers in het oosten" in text
    assert "https://example.org/rijk/nieuws/nieuw-aanmeldcentrum" in text
    # hostile links are not given as links; titles stay as text on their own line
    assert not any(
        ln.strip().lower().startswith(("javascript:", "data:")) for ln in text.splitlines()
    )
    links = assert_inert_html(html)
    assert "https://example.org/rijk/nieuws/nieuw-aanmeldcentrum" in links
    assert "https://example.org/ngo/opvang?x=1&y=%3C2%3E" in links
    assert "&lt;script&gt;alert" in html and "<script" not in html.lower()
    assert "onerror" not in html.replace("onerror=alert(1)&gt;", "")
    record = store.get_digest("team", "2026-11-22")
    assert record is not None and record.status == "sent"


def test_server_down_keeps_the_digest_pending_and_the_next_run_sends_it_once(
    store: Store, tmp_path: Path
) -> None:
    put(store, make_rows(hostile=False, first_seen=T0 + timedelta(hours=1)))
    port = free_port()  # nothing listens here yet
    cfg = DigestsConfig(path=None, profiles=(MAIL_PROFILE,), smtp=config(port))
    now = T0 + timedelta(hours=8)
    (run,) = run_digest(store, cfg, MAIL_PROFILE, AMS_DAY, now, out=tmp_path)
    assert run.status == "pending" and run.error and "Connection" in run.error
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        (run,) = run_digest(
            store, cfg, MAIL_PROFILE, AMS_DAY, now + timedelta(hours=1), out=tmp_path
        )
        assert run.status == "sent" and len(handler.messages) == 1
        (run,) = run_digest(
            store, cfg, MAIL_PROFILE, AMS_DAY, now + timedelta(hours=2), out=tmp_path
        )
        assert run.status == "already-sent" and len(handler.messages) == 1
    finally:
        controller.stop()


def _message() -> EmailMessage:
    return mail.build_message(
        subject="Onderwerp\r\nBcc: x@example.org",
        text="tekst",
        html="<p>tekst</p>",
        sender="fw@example.org",
        to=["a@example.org"],
        date=T0,
    )


def test_a_temporary_failure_is_retried(smtp_server: tuple[Handler, int]) -> None:
    handler, port = smtp_server
    handler.fail = 2
    waits: list[float] = []
    attempts = mail.send(
        _message(), replace(config(port), retries=3, retry_delay=1), sleep=waits.append
    )
    assert attempts == 3 and waits == [1, 2] and len(handler.messages) == 1
    assert parse(handler.messages[0][2])["Subject"] == "Onderwerp Bcc: x@example.org"


def test_a_permanent_failure_is_not_retried(smtp_server: tuple[Handler, int]) -> None:
    handler, port = smtp_server
    handler.fail, handler.code = 5, "550 5.7.1 refused"
    waits: list[float] = []
    with pytest.raises(mail.DeliveryError) as info:
        mail.send(_message(), replace(config(port), retries=3), sleep=waits.append)
    assert not info.value.temporary and waits == [] and handler.fail == 4


def test_login_uses_the_password_from_the_environment(smtp_server: tuple[Handler, int]) -> None:
    handler, port = smtp_server
    cfg = config(port, user="fw")
    mail.send(_message(), cfg, environ={"FEEDWATCH_SMTP_PASSWORD": "geheim"})
    assert len(handler.messages) == 1
    with pytest.raises(mail.DeliveryError, match="FEEDWATCH_SMTP_PASSWORD"):
        mail.send(_message(), cfg, environ={})
    with pytest.raises(mail.DeliveryError) as info:
        mail.send(_message(), cfg, environ={"FEEDWATCH_SMTP_PASSWORD": "fout"})
    assert not info.value.temporary and len(handler.messages) == 1


def test_concurrent_workers_send_a_digest_once(store: Store, tmp_path: Path) -> None:
    """Three workers reach the same profile and day at once: one mail leaves."""
    import threading

    put(store, make_rows(hostile=False, first_seen=T0 + timedelta(hours=1)))
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    cfg = DigestsConfig(path=None, profiles=(MAIL_PROFILE,), smtp=config(port))
    now = T0 + timedelta(hours=8)
    results: list[str] = []
    barrier = threading.Barrier(3)

    def worker() -> None:
        barrier.wait()
        for run in run_digest(store, cfg, MAIL_PROFILE, AMS_DAY, now, out=tmp_path / "w"):
            results.append(run.status)

    try:
        threads = [threading.Thread(target=worker) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert len(handler.messages) == 1
        assert results.count("sent") == 1
        assert set(results) <= {"sent", "in-progress", "already-sent"}
    finally:
        controller.stop()
    assert store.get_digest(MAIL_PROFILE.name, AMS_DAY.isoformat()).status == "sent"  # type: ignore[union-attr]
