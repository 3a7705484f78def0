"""The daemon delivers immediate monitors after a tick that stored new matches."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from httpserver import TestServer

from feedwatch.app.daemon import Daemon, DaemonSettings

DATA = Path(__file__).resolve().parents[1] / "data" / "feeds"


def test_a_tick_with_new_matches_delivers_the_immediate_monitors(
    tmp_path: Path, http_server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    http_server.route("/feed.xml", body=(DATA / "rss2.xml").read_bytes())
    (tmp_path / "feeds.yaml").write_text(
        "network: {allow_private: true}\n"
        f"sources:\n  - key: test\n    name: Test\n    url: {http_server.url('/feed.xml')}\n    kind: rss\n",
        encoding="utf-8",
    )
    (tmp_path / "monitors.yaml").write_text(
        "monitors:\n  - name: inburgering\n    query: inburgeringsexamen\n    cadence: immediate\n"
        "    deliver: {markdown: true}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("FEEDWATCH_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.delenv("FEEDWATCH_MONITORS", raising=False)

    async def run() -> None:
        daemon = Daemon(
            str(tmp_path / "feeds.yaml"),
            f"sqlite:///{tmp_path / 'fw.db'}",
            DaemonSettings(worker_id="w1"),
        )
        result = await daemon.tick()  # the monitor is new: it starts with this tick
        assert result is not None and result.new > 0
        daemon.store.close()

    asyncio.run(run())
    [md] = (tmp_path / "out" / "monitors" / "inburgering").glob("*.md")
    assert "Inburgeringsexamen: nieuwe cijfers over taaleis B1" in md.read_text(encoding="utf-8")
