"""feedwatch web over HTTP (uvicorn on 127.0.0.1 in a thread, httpx as the client) on SQLite and
PostgreSQL: pages, paging, Atom, labels behind the token and CSRF, security headers, hostile
items, languages."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import feedparser
import httpx
import pytest
import uvicorn
from builders import make_rows, put
from click.testing import CliRunner

from feedwatch.app.pipeline import decided
from feedwatch.app.web import WebSettings, create_app
from feedwatch.app.web.serve import listen, url_of
from feedwatch.cli import cli
from feedwatch.edges.store import ItemQuery, ItemRow, SourceUpdate, Store
from feedwatch.edges.store.deliveries import monitor_overview
from feedwatch.edges.store.topics import topic_rows
from feedwatch.types import Item, TopicScore


def _apply(store: Store, update: SourceUpdate) -> None:
    """Store one fetch as the pipeline does: decided first."""
    store.apply(decided(store, [update])[0])


TOKEN = "a-long-test-token-0123456789"


@contextmanager
def client_for(store: Store, **settings: object) -> Iterator[httpx.Client]:
    """The app under uvicorn on a free port of 127.0.0.1, and a client with a cookie jar."""
    values: dict[str, object] = {"token": TOKEN, "warm": False} | settings
    app = create_app(WebSettings(**values), store)  # type: ignore[arg-type]
    sock = listen("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise AssertionError("the web server did not start")
            thread.join(0.01)
        with httpx.Client(base_url=url_of(sock), follow_redirects=False) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def filled(store: Store) -> Store:
    put(store, make_rows())
    return store


@pytest.fixture
def client(filled: Store) -> Iterator[httpx.Client]:
    with client_for(filled) as c:
        yield c


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def login(c: httpx.Client) -> None:
    page = c.get("/login").text
    r = c.post("/login", data={"csrf": csrf(page), "token": TOKEN, "next": "/"})
    assert r.status_code == 303


def item_ids(page: str) -> list[str]:
    return re.findall(r'<h3><a href="/items/([^"]+)">', page)


# ------------------------------------------------------------------------------------ pages


def test_every_page_renders_the_stored_items(client: httpx.Client) -> None:
    home = client.get("/")
    assert home.status_code == 200
    assert "<h1>Overzicht</h1>" in home.text
    assert home.text.count('<svg viewBox="0 0 520 64"') == 4  # one chart per topic
    topic = client.get("/topics/asielzoekerscentrum")
    assert topic.status_code == 200
    assert set(item_ids(topic.text)) == {"a1", "a2", "a3", "h1"}
    source = client.get("/sources/krant")
    assert {"a3", "b2", "h2", "h3"} <= set(item_ids(source.text))
    assert all(i in {"a3", "b2", "h2", "h3"} for i in item_ids(source.text))
    item = client.get("/items/a1")
    assert "Kabinet opent nieuw aanmeldcentrum voor asielzoekers in het oosten" in item.text
    assert "uit de feed" in item.text  # the date's provenance
    assert 'href="https://example.org/rijk/nieuws/nieuw-aanmeldcentrum"' in item.text
    sources = client.get("/sources")
    assert sources.status_code == 200
    assert "Rijksoverheid (test)" in sources.text
    assert client.get("/healthz").json() == {"status": "ok"}


def test_unknown_pages_are_404_pages_with_the_headers(client: httpx.Client) -> None:
    for path in ("/topics/nope", "/sources/nope", "/items/nope", "/nope"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "Niet gevonden" in r.text
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_security_headers_on_pages_and_static_files(client: httpx.Client) -> None:
    for path in ("/", "/static/style.css", "/healthz"):
        h = client.get(path).headers
        csp = h["content-security-policy"]
        assert "script-src" not in csp and "default-src 'none'" in csp  # no script at all
        assert "frame-ancestors 'none'" in csp
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "same-origin"


def test_another_host_name_is_refused_on_loopback(filled: Store) -> None:
    """DNS rebinding: a page elsewhere cannot read the loopback server under its own name."""
    with client_for(filled) as c:
        assert c.get("/", headers={"host": "evil.example"}).status_code == 400
        assert c.get("/", headers={"host": "localhost:8080"}).status_code == 200


def test_languages(client: httpx.Client) -> None:
    assert '<html lang="nl">' in client.get("/").text
    en = client.get("/?lang=en")
    assert '<html lang="en">' in en.text and "<h1>Overview</h1>" in en.text
    assert '<html lang="en">' in client.get("/sources").text  # the choice is kept in a cookie
    client.cookies.clear()
    r = client.get("/", headers={"accept-language": "en-GB,en;q=0.9,nl;q=0.5"})
    assert '<html lang="en">' in r.text
    r = client.get("/", headers={"accept-language": "de-DE,nl;q=0.5"})
    assert '<html lang="nl">' in r.text


def test_a_bad_date_filter_is_a_message_not_an_error(client: httpx.Client) -> None:
    r = client.get("/topics/migratie?since=gisteren")
    assert r.status_code == 200
    assert "Ongeldige datum" in unescape(r.text)


def test_hostile_items_stay_text(client: httpx.Client) -> None:
    for item_id in ("h1", "h2", "h3", "h4"):
        page = client.get(f"/items/{item_id}").text
        assert "<script" not in page.lower()
        assert "<img" not in page.lower()
        assert not re.search(r'(href|src|action)="\s*(javascript|data):', page, re.I)
        assert not re.search(r"<[^>]+\son\w+=", page)
    page = client.get("/items/h1").text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page  # shown, as text
    listing = client.get("/sources/krant").text
    assert "<script" not in listing.lower()
    assert not re.search(r'href="\s*javascript:', listing, re.I)


# ----------------------------------------------------------------------- paging and Atom


def _many(store: Store, n: int = 23) -> list[str]:
    """n items on one topic: some undated, several sharing a date; returns their ids."""
    base = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    made = []
    for i in range(n):
        published = None if i % 5 == 0 else base + timedelta(hours=(i // 3) * 7)
        made.append(
            ItemRow(
                Item(
                    id=f"p{i:02d}",
                    source="rijk" if i % 2 else "ngo",
                    url=f"https://example.org/p/{i}",
                    title=f"Bericht {i}",
                    summary="",
                    published=published,
                    date_source="feed" if published else "first-seen",
                    first_seen=base + timedelta(hours=i * 3),
                    content_hash=f"p{i}",
                ),
                topics=("integratie",),
            )
        )
    put(store, made)
    return [r.item.id for r in made]


def test_paging_visits_every_item_once_newest_first(store: Store) -> None:
    ids = _many(store)
    expected = [r.item.id for r in store.iter_items(ItemQuery(topics=("integratie",)))]
    with client_for(store, page_size=4) as c:
        seen: list[str] = []
        url: str | None = "/topics/integratie"
        pages = 0
        while url:
            page = c.get(url).text
            seen += item_ids(page)
            found = re.search(r'<a href="([^"]+)" rel="next">', page)
            url = unescape(found.group(1)) if found else None
            pages += 1
        assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
        assert pages == 6
        rows = {r.item.id: r for r in store.iter_items(ItemQuery(topics=("integratie",)))}
        dates = {i: rows[i].item.published or rows[i].item.first_seen for i in expected}
        assert [dates[i] for i in seen] == sorted(dates.values(), reverse=True)
        # A source's page with a topic and a date filter: only what matches.
        page = c.get("/sources/rijk?topic=integratie&since=2026-10-02&until=2026-10-03").text
        shown = item_ids(page)
        assert shown
        for i in shown:
            when = dates[i].astimezone(UTC)
            assert int(i[1:]) % 2 == 1
            assert (
                datetime(2026, 10, 1, 22, tzinfo=UTC)
                <= when
                < datetime(2026, 10, 3, 22, tzinfo=UTC)
            )


def test_atom_holds_what_is_on_screen(store: Store) -> None:
    _many(store)
    with client_for(store, page_size=5) as c:
        page = c.get("/topics/integratie").text
        atom_link = re.search(
            r'<link rel="alternate" type="application/atom\+xml"[^>]* href="([^"]+)"', page
        )
        assert atom_link
        feed = c.get(unescape(atom_link.group(1)))
        assert feed.headers["content-type"].startswith("application/atom+xml")
        parsed = feedparser.parse(feed.content)
        assert not parsed.bozo
        assert [e.id.rsplit(":", 1)[1] for e in parsed.entries] == item_ids(page)
        nxt = unescape(re.search(r'<a href="([^"]+)" rel="next">', page).group(1))  # type: ignore[union-attr]
        second = c.get(nxt).text
        atom2 = re.search(r'type="application/atom\+xml"[^>]* href="([^"]+)"', second)
        assert atom2
        entries = feedparser.parse(c.get(unescape(atom2.group(1))).content).entries
        assert [e.id.rsplit(":", 1)[1] for e in entries] == item_ids(second)


# ------------------------------------------------------------------------------------ labels


def _manual(store: Store, item_id: str) -> dict[str, bool]:
    return {r.topic: r.assigned for r in topic_rows(store, item_id) if r.origin == "manual"}


def test_a_post_without_login_or_csrf_changes_nothing(filled: Store) -> None:
    with client_for(filled) as c:
        page = c.get("/items/b1").text
        token = csrf(page)
        form = {"csrf": token, "topic": "migratie", "action": "add"}
        assert c.post("/items/b1/labels", data=form).status_code == 403  # not logged in
        login(c)
        fresh = csrf(c.get("/items/b1").text)
        assert fresh != token  # logging in starts a new session
        assert c.post("/items/b1/labels", data=form).status_code == 403  # the old CSRF value
        no_csrf = {"topic": "migratie", "action": "add"}
        assert c.post("/items/b1/labels", data=no_csrf).status_code == 403
        as_json = c.post("/items/b1/labels", json=form | {"csrf": fresh})
        assert as_json.status_code == 403
    with client_for(filled, token=None) as c:  # no token on the server: nobody can write
        page = c.get("/items/b1").text
        assert "FEEDWATCH_WEB_TOKEN" in page and "disabled" in page
        r = c.post("/login", data={"csrf": csrf(page), "token": "", "next": "/"})
        assert r.status_code == 403
        form = {"csrf": csrf(page), "topic": "migratie", "action": "add"}
        assert c.post("/items/b1/labels", data=form).status_code == 403
    assert _manual(filled, "b1") == {}


def test_a_wrong_token_does_not_log_in(filled: Store) -> None:
    with client_for(filled) as c:
        page = c.get("/login").text
        r = c.post("/login", data={"csrf": csrf(page), "token": TOKEN + "x", "next": "/"})
        assert r.status_code == 403 and "klopt niet" in r.text
        form = {"csrf": csrf(c.get("/items/b1").text), "topic": "migratie", "action": "add"}
        assert c.post("/items/b1/labels", data=form).status_code == 403
    assert _manual(filled, "b1") == {}


def test_labels_set_on_the_page_are_what_why_shows(filled: Store, db_url: str) -> None:
    with client_for(filled) as c:
        login(c)
        token = csrf(c.get("/items/b1").text)
        r = c.post("/items/b1/labels", data={"csrf": token, "topic": "migratie", "action": "add"})
        assert r.status_code == 303 and r.headers["location"].startswith("/items/b1")
        r = c.post(
            "/items/b1/labels", data={"csrf": token, "topic": "integratie", "action": "remove"}
        )
        assert r.status_code == 303
        page = c.get("/items/b1").text
        assert "met de hand toegevoegd" in page and "met de hand verwijderd" in page
        assert "/topics/migratie" in page
        assert "b1" in item_ids(c.get("/topics/migratie").text)
        assert "b1" not in item_ids(c.get("/topics/integratie").text)
    assert _manual(filled, "b1") == {"migratie": True, "integratie": False}
    why = CliRunner().invoke(cli, ["--database-url", db_url, "why", "b1"])
    assert why.exit_code == 0, why.output
    assert re.search(r"yes migratie .*label by hand: added", why.output)
    assert re.search(r"no  integratie .*label by hand: removed", why.output)
    with client_for(filled) as c:  # and back to the rules
        login(c)
        token = csrf(c.get("/items/b1").text)
        data = {"csrf": token, "topic": "migratie", "action": "clear"}
        assert c.post("/items/b1/labels", data=data).status_code == 303
    assert _manual(filled, "b1") == {"integratie": False}


def test_the_overview_counts_follow_the_labels(store: Store) -> None:
    now = datetime.now(UTC)
    put(
        store,
        [
            ItemRow(
                Item(
                    id="n1",
                    source="rijk",
                    url="https://example.org/n1",
                    title="Vandaag",
                    summary="",
                    published=now - timedelta(minutes=5),
                    date_source="feed",
                    first_seen=now - timedelta(minutes=1),
                    content_hash="n1",
                ),
                topics=("migratie",),
            )
        ],
    )
    with client_for(store) as c:
        assert _new_today(c.get("/").text, "migratie") == 1
        assert _new_today(c.get("/").text, "integratie") == 0
        login(c)
        token = csrf(c.get("/items/n1").text)
        c.post("/items/n1/labels", data={"csrf": token, "topic": "integratie", "action": "add"})
        c.post("/items/n1/labels", data={"csrf": token, "topic": "migratie", "action": "remove"})
        home = c.get("/").text
        assert _new_today(home, "integratie") == 1
        assert _new_today(home, "migratie") == 0


def _new_today(page: str, topic: str) -> int:
    found = re.search(
        rf'<a href="/topics/{topic}">[^<]+</a></th><td class="num"><a href="[^"]+">(\d+)</a>', page
    )
    assert found, topic
    return int(found.group(1))


# ---------------------------------------------------------------------------- health


def test_failing_and_quiet_sources_need_attention(store: Store) -> None:
    put(store, make_rows(hostile=False))
    t = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    for n in range(3):
        _apply(
            store,
            SourceUpdate(
                key="krant",
                started_at=t + timedelta(hours=n),
                duration=1.0,
                outcome="error",
                url="https://krant.example/f",
                error="timed out after 30 s",
                error_kind="timeout",
            ),
        )
    with client_for(store) as c:
        home = c.get("/").text
        assert "faalt al 3 keer op rij" in home
        assert "de website antwoordde niet op tijd" in home
        sources = c.get("/sources?sort=errors&dir=desc").text
        names = re.findall(r'<th scope="row"><a href="/sources/([^"]+)">', sources)
        assert names[0] == "krant"
        assert 'aria-sort="descending"' in sources
        asc = re.findall(
            r'<th scope="row"><a href="/sources/([^"]+)">', c.get("/sources?sort=errors").text
        )
        assert asc[-1] == "krant"


# ------------------------------------------------------------------------- who may read


def test_reading_on_another_address_needs_a_login_unless_public(filled: Store) -> None:
    with client_for(filled, host="0.0.0.0") as c:
        r = c.get("/topics/migratie")
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        assert c.get("/healthz").status_code == 200
        login(c)
        assert c.get("/topics/migratie").status_code == 200
    with client_for(filled, host="0.0.0.0", public=True) as c:
        assert c.get("/topics/migratie").status_code == 200


def test_login_returns_only_to_local_pages(filled: Store) -> None:
    with client_for(filled) as c:
        page = c.get("/login").text
        r = c.post("/login", data={"csrf": csrf(page), "token": TOKEN, "next": "//evil.example/"})
        assert r.headers["location"] == "/"


def test_web_refuses_another_address_without_a_token(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FEEDWATCH_WEB_TOKEN", raising=False)
    r = CliRunner().invoke(
        cli, ["--database-url", "sqlite:///:memory:", "web", "--host", "0.0.0.0"]
    )
    assert r.exit_code == 2
    assert "refusing to listen on 0.0.0.0" in r.output and "FEEDWATCH_WEB_TOKEN" in r.output


def test_scores_are_explained(filled: Store) -> None:
    _apply(
        filled,
        SourceUpdate(
            key="rijk",
            started_at=datetime(2026, 11, 23, tzinfo=UTC),
            duration=0.1,
            outcome="ok",
            url="https://rijk.example/f",
            items=(
                Item(
                    id="w1",
                    source="rijk",
                    url="https://example.org/w1",
                    title="Asielzoekers naar nieuw azc",
                    summary="",
                    published=datetime(2026, 11, 22, tzinfo=UTC),
                    date_source="listing",
                    first_seen=datetime(2026, 11, 23, tzinfo=UTC),
                    content_hash="w1",
                ),
            ),
            scores={
                "w1": (
                    TopicScore("asielzoekerscentrum", 3.5, 2.0, ("azc (title) +3.5",), True),
                    TopicScore("migratie", 0.8, 2.0, ("asielzoeker* +0.8",), False),
                )
            },
        ),
    )
    with client_for(filled) as c:
        page = c.get("/items/w1").text
        english = c.get("/items/w1?lang=en").text
    assert "azc (titel) +3.5" in page and "asielzoeker* +0.8" in page
    assert "azc (title) +3.5" in english
    assert "van de overzichtspagina" in page
    assert re.search(r"Asielzoekerscentrum</th>\s*<td>ja", page)
    # each decision with its own threshold; a topic with no stored decision shows none (not
    # the rules' threshold beside a model's probability)
    cells = re.findall(r'<td class="num">([^<]*)</td>', page)
    assert cells[-8:] == ["0.80", "2.00", "–", "–", "3.50", "2.00", "–", "–"]


def _dated(item_id: str, when: datetime, topic: str) -> ItemRow:
    return ItemRow(
        Item(
            id=item_id,
            source="rijk",
            url=f"https://example.org/{item_id}",
            title=item_id,
            summary="",
            published=when,
            date_source="feed",
            first_seen=when,
            content_hash=item_id,
        ),
        topics=(topic,),
    )


def test_finished_weeks_are_kept_until_a_label_changes_them(store: Store) -> None:
    from feedwatch.app.web.aggregates import WeekCounts
    from feedwatch.app.web.i18n import weeks_back

    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    (past_a, past_b), (this_a, this_b) = weeks_back(now, 2)
    put(store, [_dated("k1", past_a + timedelta(days=1), "migratie")])
    put(store, [_dated("k2", now - timedelta(hours=1), "migratie")])
    clock = [0.0]
    counts = WeekCounts(store, ttl=100.0, live=10.0, clock=lambda: clock[0])
    try:
        assert counts.week("topic", past_a, past_b, now) == {"migratie": 1}
        assert counts.week("topic", this_a, this_b, now) == {"migratie": 1}
        put(store, [_dated("k3", past_a + timedelta(days=2), "migratie")])
        put(store, [_dated("k4", now - timedelta(minutes=5), "migratie")])
        assert counts.week("topic", past_a, past_b, now) == {"migratie": 1}  # kept
        assert counts.week("topic", this_a, this_b, now) == {"migratie": 1}  # kept 10 s
        clock[0] = 11.0
        assert counts.week("topic", this_a, this_b, now) == {"migratie": 2}
        assert counts.week("topic", past_a, past_b, now) == {"migratie": 1}  # kept 100 s
        counts.forget(past_a + timedelta(days=2))  # what a label on k3 does
        assert counts.week("topic", past_a, past_b, now) == {"migratie": 2}
        assert counts.series("source", [(past_a, past_b), (this_a, this_b)], now) == [
            {"rijk": 2},
            {"rijk": 2},
        ]
    finally:
        counts.close()


def test_a_broken_database_gives_an_error_page_not_a_traceback(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'broken.db'}")
    put(store, make_rows(hostile=False))
    with client_for(store) as c:
        assert c.get("/topics/migratie").status_code == 200
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE item_topics")
        r = c.get("/topics/migratie")
        assert r.status_code == 500
        assert "Er ging iets mis" in r.text
        assert "Traceback" not in r.text and "item_topics" not in r.text
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    store.close()


def test_dossier_timeline_and_entity_links(store: Store) -> None:
    def item(item_id: str, source: str, day: int, title: str) -> Item:
        return Item(
            id=item_id,
            source=source,
            url=f"https://example.org/{item_id}",
            title=title,
            summary="",
            published=datetime(2026, 11, day, 10, 0, tzinfo=UTC),
            date_source="feed",
            first_seen=datetime(2026, 11, 25, tzinfo=UTC),
            content_hash=item_id,
        )

    put(store, make_rows(hostile=False))  # the sources
    cites = {
        "d1": ("kamerstuk:36704",),
        "d2": ("kamerstuk:36704", "ecli:ECLI:NL:RVS:2026:7012"),
        "d3": ("ecli:ECLI:NL:RVS:2026:7012",),
    }
    for key, items_ in (
        ("rijk", (item("d1", "rijk", 3, "Kamerbrief over 36704"),)),
        (
            "krant",
            (
                item("d2", "krant", 1, "Raad van State over wet 36704"),
                item("d3", "krant", 5, "Uitspraak"),
            ),
        ),
    ):
        _apply(
            store,
            SourceUpdate(
                key=key,
                started_at=datetime(2026, 11, 25, tzinfo=UTC),
                duration=0.1,
                outcome="ok",
                url=f"https://{key}.example/f",
                items=items_,
                entities={i.id: cites[i.id] for i in items_},
            ),
        )
    with client_for(store) as c:
        page = c.get("/dossiers/kamerstuk:36704")
        assert page.status_code == 200
        assert item_ids(page.text) == ["d2", "d1"]  # oldest first
        assert 'href="https://zoek.officielebekendmakingen.nl/dossier/36704"' in page.text
        assert 'href="/dossiers/ecli:ECLI:NL:RVS:2026:7012"' in page.text  # d2's other reference
        assert item_ids(c.get("/dossiers/kamerstuk:36%20704").text) == ["d2", "d1"]  # as typed
        assert item_ids(c.get("/dossiers/kamerstuk:36704?source=rijk").text) == ["d1"]
        assert item_ids(c.get("/dossiers/kamerstuk:36704?since=2026-11-02").text) == ["d1"]
        atom = feedparser.parse(c.get("/dossiers/kamerstuk:36704/atom").content)
        assert [e.id.rsplit(":", 1)[1] for e in atom.entries] == ["d2", "d1"]
        assert c.get("/dossiers/nonsense:1").status_code == 404
        item_page = c.get("/items/d2").text
        assert 'href="/dossiers/kamerstuk:36704"' in item_page
        assert (
            'href="https://uitspraken.rechtspraak.nl/details?id=ECLI:NL:RVS:2026:7012"' in item_page
        )


def test_dossiers_page_lists_the_cited_references_and_opens_one(store: Store) -> None:
    now = datetime.now(UTC)

    def item(item_id: str, days_ago: int) -> Item:
        when = now - timedelta(days=days_ago)
        return Item(
            id=item_id,
            source="krant",
            url=f"https://example.org/{item_id}",
            title=f"Bericht {item_id}",
            summary="",
            published=when,
            date_source="feed",
            first_seen=when,
            content_hash=item_id,
        )

    put(store, make_rows(hostile=False))
    cites = {
        "e1": ("kamerstuk:36704",),
        "e2": ("kamerstuk:36704", "ecli:ECLI:NL:RVS:2026:7012"),
        "e3": ("kamerstuk:36704",),
        "e4": ("stcrt:2026-12345",),  # cited long ago only
    }
    items_ = (item("e1", 2), item("e2", 10), item("e3", 40), item("e4", 200))
    _apply(
        store,
        SourceUpdate(
            key="krant",
            started_at=now,
            duration=0.1,
            outcome="ok",
            url="https://krant.example/f",
            items=items_,
            entities={i.id: cites[i.id] for i in items_},
        ),
    )

    def listed(page: str) -> list[tuple[str, int]]:
        rows = re.findall(
            r'<th scope="row"><a href="/dossiers/([^"]+)">[^<]*</a></th>\s*<td>[^<]*</td>\s*'
            r'<td class="num">(\d+)</td>',
            page,
        )
        return [(unescape(e), int(n)) for e, n in rows]

    with client_for(store) as c:
        page = c.get("/dossiers")
        assert page.status_code == 200, page.text
        # the last 90 days, most cited first; the old Staatscourant is not there
        assert listed(page.text) == [("kamerstuk:36704", 3), ("ecli:ECLI:NL:RVS:2026:7012", 1)]
        assert 'href="https://zoek.officielebekendmakingen.nl/dossier/36704"' in page.text
        assert 'href="/dossiers" aria-current="page"' in page.text
        assert listed(c.get("/dossiers?period=30").text) == [
            ("kamerstuk:36704", 2),
            ("ecli:ECLI:NL:RVS:2026:7012", 1),
        ]
        assert ("stcrt:2026-12345", 1) in listed(c.get("/dossiers?period=all").text)
        assert listed(c.get("/dossiers?period=all&kind=ecli").text) == [
            ("ecli:ECLI:NL:RVS:2026:7012", 1)
        ]
        assert "Uitspraak" in c.get("/dossiers?kind=ecli").text  # the kind in words
        assert "Ruling" in c.get("/dossiers?kind=ecli&lang=en").text
        # the box opens a dossier by what a person types
        for typed, entity in (
            ("36704", "kamerstuk:36704"),
            ("kamerstuk 36 704", "kamerstuk:36704"),
            ("Kamerstuk:36704", "kamerstuk:36704"),
            ("ECLI:NL:RVS:2026:7012", "ecli:ECLI:NL:RVS:2026:7012"),
            ("stcrt:2026-012345", "stcrt:2026-12345"),
        ):
            r = c.get("/dossiers", params={"q": typed})
            assert r.status_code == 303, typed
            assert r.headers["location"] == f"/dossiers/{entity}", typed
        bad = c.get("/dossiers", params={"q": "<script>alert(1)</script>"})
        assert bad.status_code == 200
        assert 'role="alert"' in bad.text and "<script>alert(1)" not in bad.text
        # an unknown period or kind falls back to the default, never an error
        assert listed(c.get("/dossiers?period=x&kind=y").text) == listed(page.text)


# ----------------------------------------------------------------------------------- search


def _found(page: str) -> list[str]:
    return re.findall(r'<h3><a href="/items/([^"]+)"', page)


def test_search_highlights_matches_and_keeps_source_text_inert(store: Store) -> None:
    put(store, make_rows())
    nasty = Item(
        id="s1",
        source="krant",
        url="https://example.org/s1",
        title="Noodopvang <b>vet</b> «niet gemarkeerd»",
        summary="Over de noodopvang: <script>alert(1)</script> «nep» en <mark>nep</mark> ook.",
        published=datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
        date_source="feed",
        first_seen=datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
        content_hash="s1",
    )
    put(store, [ItemRow(nasty, topics=("asielzoekerscentrum",))])
    with client_for(store) as c:
        r = c.get("/search", params={"q": "noodopvang"})
        assert r.status_code == 200
        assert set(_found(r.text)) == {"h1", "s1"}
        page = r.text
        assert "<script" not in page.lower()
        assert "<b>vet" not in page
        assert "<img" not in page.lower()
        assert not re.search(r"<[^>]+\son\w+=", page)
        # The match is marked; the source's own « », <mark> and tags are text.
        assert "<mark>noodopvang</mark>" in page
        assert "«nep»" in page and "&lt;mark&gt;nep&lt;/mark&gt;" in page
        assert page.count("<mark>") == len(re.findall(r"<mark>[Nn]oodopvang</mark>", page))
        # Filters, sorting and the Atom feed of the screen.
        assert _found(c.get("/search", params={"q": "noodopvang", "source": "ngo"}).text) == ["h1"]
        newest = c.get("/search", params={"q": "noodopvang", "sort": "date"}).text
        assert _found(newest) == ["s1", "h1"]
        assert _found(c.get("/search?q=noodopvang&until=2026-11-21").text) == ["h1"]
        feed = feedparser.parse(c.get("/search/atom?q=noodopvang&sort=date").content)
        assert [e.id.rsplit(":", 1)[1] for e in feed.entries] == ["s1", "h1"]
        assert 'href="/search/atom?q=noodopvang&amp;sort=date"' in newest
        # The header's search form is on every page.
        assert 'action="/search"' in c.get("/").text
        assert "Niets gevonden" in c.get("/search", params={"q": "onvindbaarwoord"}).text


def test_a_malformed_query_says_where(filled: Store) -> None:
    with client_for(filled) as c:
        r = c.get("/search", params={"q": 'azc "open'})
        assert r.status_code == 400
        text = unescape(r.text)
        assert "positie 5" in text
        assert 'azc "open\n    ^' in text
        assert "Traceback" not in text
        assert c.get("/search/atom", params={"q": "(azc"}).status_code == 400
        assert c.get("/search").status_code == 200  # no query: just the form


def test_search_pages_through_all_matches(store: Store) -> None:
    ids = _many(store, 45)
    with client_for(store) as c:
        seen: list[str] = []
        url: str | None = "/search?q=bericht&sort=date"
        while url:
            page = c.get(url).text
            seen += _found(page)
            found = re.search(r'<a href="([^"]+)" rel="next"', page)
            url = unescape(found.group(1)) if found else None
        assert sorted(seen) == sorted(ids)
        assert len(seen) == len(set(seen))


# --------------------------------------------------------------------------------- monitors

MONITORS = """
monitors:
  - name: noodopvang
    query: 'noodopvang OR sporthal'
    cadence: immediate
    deliver: {markdown: true}
  - name: weekoverzicht
    topics: [migratie]
    sources: [krant]
    entities: ["kamerstuk:36704"]
    cadence: weekly mon 07:00
    deliver:
      webhook: {url: "https://hooks.example.org/x"}
"""


def test_monitors_list_and_test_view_send_nothing(filled: Store, tmp_path: Path) -> None:
    path = tmp_path / "monitors.yaml"
    path.write_text(MONITORS, encoding="utf-8")
    with client_for(filled, monitors_path=str(path)) as c:
        r = c.get("/monitors?lang=en")
        assert r.status_code == 200
        page = unescape(r.text)
        assert (
            'href="/monitors/noodopvang"' in r.text and 'href="/monitors/weekoverzicht"' in r.text
        )
        assert "noodopvang OR sporthal" in page and "weekly mon 07:00" in page
        assert "on new matches" in page and "webhook" in page and "markdown" in page
        assert 'href="/dossiers/kamerstuk:36704"' in r.text
        assert 'href="/topics/migratie"' in r.text
        view = c.get("/monitors/noodopvang?since=2026-11-01")
        assert view.status_code == 200
        assert item_ids(view.text) == ["h1"]
        assert "<script" not in view.text.lower()
        assert "nothing is sent" in view.text  # the language chosen above is kept
        assert "Matched on: <code>noodopvang</code>, <code>sporthal</code>" in view.text
        assert "&lt;script&gt;" in view.text  # the title as text, in the list and the message
        assert c.get("/monitors/onbekend").status_code == 404
        # Nothing was matched, recorded or sent by looking.
        assert re.findall(r'<td class="num">(\d+)</td>', c.get("/monitors").text) == ["0", "0"]
    seen = monitor_overview(filled.engine, ["noodopvang", "weekoverzicht"])
    assert [(o.matches, o.last_run_at, o.last_delivery_at) for o in seen.values()] == [
        (0, None, None),
        (0, None, None),
    ]
    path.write_text("monitors:\n  - name: x\n    query: '(azc'\n", encoding="utf-8")
    with client_for(filled, monitors_path=str(path)) as c:
        r = c.get("/monitors")
        assert r.status_code == 409
        assert str(path) in unescape(r.text) and "Traceback" not in r.text
    with client_for(filled, monitors_path=str(tmp_path / "missing.yaml")) as c:
        assert "Geen monitors ingesteld" in c.get("/monitors").text


def test_web_takes_the_monitors_file_from_the_option_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the hand-over is replaced: what `feedwatch web` passes to the server."""
    import feedwatch.app.web.serve as serve_module  # the module whose serve() is replaced

    seen: list[WebSettings] = []
    monkeypatch.setattr(
        serve_module, "serve", lambda settings, port, announce: seen.append(settings)
    )
    monkeypatch.delenv("FEEDWATCH_MONITORS", raising=False)
    db = ["--database-url", f"sqlite:///{tmp_path / 'w.db'}"]
    feeds = str(tmp_path / "conf" / "feeds.yaml")
    runs = (
        ([*db, "--config", feeds, "web"], {}, str(tmp_path / "conf" / "monitors.yaml")),
        ([*db, "--monitors", "a.yaml", "web"], {}, "a.yaml"),
        ([*db, "web", "--monitors", "b.yaml"], {}, "b.yaml"),
        ([*db, "web"], {"FEEDWATCH_MONITORS": "c.yaml"}, "c.yaml"),
    )
    for args, env, expected in runs:
        r = CliRunner(env=env).invoke(cli, args)
        assert r.exit_code == 0, r.output
        assert seen[-1].monitors_path == expected
    assert seen[0].sources_path == feeds


def test_every_template_compiles_before_serving(filled: Store) -> None:
    app = create_app(WebSettings(token=TOKEN, warm=False), filled)
    web = app.state.web
    names = web.templates.list_templates(extensions=["html"])
    assert "overview.html" in names and "monitor.html" in names
    assert len(web.templates.cache) == 0
    web.compile_templates()
    assert len(web.templates.cache) == len(names)
