"""Each connector against a local server that pages, fails once (5xx) and is asked from the
cursor on the next run: every record stored once, nothing lost; on SQLite and PostgreSQL (#17).

The answers are the fixtures in tests/data/connectors/<kind>/ (their README names the section of
../shared/data/open-data.md each follows); the handlers choose the fixture by the query the
connector sent, as the service would.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote

from httpserver import Request, TestServer

from feedwatch.app.pipeline import run_fetch
from feedwatch.config.sources import Config, parse_config
from feedwatch.edges.store import FetchOutcome, ItemQuery, Store

DATA = Path(__file__).resolve().parents[1] / "data" / "connectors"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def fixture(kind: str, name: str, base: str) -> bytes:
    return (DATA / kind / name).read_text(encoding="utf-8").replace("{base}", base).encode()


def make_config(tmp_path: Path, source: str) -> Config:
    text = "network: {allow_private: true, host_delay: 0}\nsources:\n" + source
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return parse_config(text, path, environ={})


def run(config: Config, store: Store) -> FetchOutcome:
    result = asyncio.run(run_fetch(config, store, every=True, clock=lambda: NOW))
    assert len(result.outcomes) == 1
    return result.outcomes[0]


def guids(store: Store, key: str) -> list[str]:
    return sorted(str(r.item.guid) for r in store.iter_items(ItemQuery(sources=(key,))))


def once(fail: list[int], req: Request) -> bool:
    """Answer 503 the first time only; True when it did."""
    if not fail:
        fail.append(1)
        req.respond(503, b"storing", {"Content-Type": "text/plain"})
        return True
    return False


def answer(req: Request, body: bytes, ctype: str) -> None:
    req.respond(200, body, {"Content-Type": ctype})


# ----------------------------------------------------------------------------- tweedekamer


def test_tweedekamer_pages_fails_once_and_resumes_from_its_cursor(
    http_server: TestServer, db_url: str, tmp_path: Path
) -> None:
    store = Store(db_url)
    base = http_server.url("/OData/v4/2.0")
    fail: list[int] = []
    filters: list[str] = []

    def documents(req: Request) -> None:
        q = unquote(req.query)
        filters.append(q)
        if "$skip=2" in q:
            if once(fail, req):
                return
            body = fixture("tweedekamer", "document-page2.json", base)
        elif "GewijzigdOp ge 2026-10-05T14:00:00+02:00" in q:
            body = fixture("tweedekamer", "document-since.json", base)
        elif "GewijzigdOp ge 2026-11-03T10:00:00+01:00" in q:
            body = b'{"value": []}'
        else:
            body = fixture("tweedekamer", "document-page1.json", base)
        answer(req, body, "application/json; odata.metadata=minimal")

    def zaken(req: Request) -> None:
        answer(req, fixture("tweedekamer", "zaak-page1.json", base), "application/json")

    http_server.route("/OData/v4/2.0/Document", handler=documents)
    http_server.route("/OData/v4/2.0/Zaak", handler=zaken)
    config = make_config(
        tmp_path,
        f"""  - key: tk-asiel
    name: Tweede Kamer
    kind: tweedekamer
    url: {base}
    since: 2026-09-01
    dossiers: [36704]
    pause: 0
""",
    )
    first = run(config, store)
    assert first.outcome == "error" and "503" in (first.error or "")
    assert first.new == 2  # page 1 is kept; the outage is the source's error
    assert "Verwijderd eq false" in filters[0]
    assert "GewijzigdOp ge 2026-09-01T00:00:00Z" in filters[0]
    assert "Kamerstukdossier/any(d: d/Nummer eq 36704)" in filters[0]
    cursor = json.loads(store.connector_cursor("tk-asiel") or "{}")
    assert cursor == {"Document": "2026-10-05T14:00:00+02:00"}
    store.close()  # a restart: the next run reads the cursor from the database
    store = Store(db_url)

    second = run(config, store)
    assert second.outcome == "ok", second.error
    assert (second.new, second.unchanged) == (3, 1)  # doc 3, doc 5, the Zaak; doc 2 again
    assert "GewijzigdOp ge 2026-10-05T14:00:00+02:00" in filters[-1]  # from the cursor
    third = run(config, store)
    assert (third.outcome, third.new) == ("ok", 0)
    assert "GewijzigdOp ge 2026-11-03T10:00:00+01:00" in filters[-1]
    assert guids(store, "tk-asiel") == [
        "tk:Document:0a1b2c3d-0000-4000-8000-000000000001",
        "tk:Document:0a1b2c3d-0000-4000-8000-000000000002",
        "tk:Document:0a1b2c3d-0000-4000-8000-000000000003",
        "tk:Document:0a1b2c3d-0000-4000-8000-000000000005",
        "tk:Zaak:7e000000-0000-4000-8000-000000000001",
    ]  # the withdrawn document (Verwijderd) is not stored
    assert http_server.max_in_flight() == 1
    timeline = store.dossier("kamerstuk:36855")
    assert [r.doc_kind for r in timeline] == ["Verslag"]
    assert timeline[0].entities == ("kamerstuk:36704", "kamerstuk:36855")
    kinds = [r.doc_kind for r in store.dossier("kamerstuk:36704")]
    assert kinds == [
        "Wetgeving",
        "Memorie van toelichting",
        "Advies Raad van State",
        "Motie",
        "Verslag",
    ]
    store.close()


# ----------------------------------------------------------------- officielebekendmakingen


def test_officielebekendmakingen_pages_fails_once_and_resumes_from_its_cursor(
    http_server: TestServer, store: Store, tmp_path: Path
) -> None:
    base = http_server.url("/sru")
    fail: list[int] = []
    queries: list[dict[str, list[str]]] = []

    def sru(req: Request) -> None:
        q = parse_qs(req.query)
        queries.append(q)
        cql = q["query"][0]
        if "dt.modified>=2026-12-01" in cql:
            body = fixture("officielebekendmakingen", "since.xml", base)
        elif q["startRecord"] == ["3"]:
            if once(fail, req):
                return
            body = fixture("officielebekendmakingen", "page2.xml", base)
        else:
            body = fixture("officielebekendmakingen", "page1.xml", base)
        answer(req, body, "application/xml; charset=utf-8")

    http_server.route("/sru", handler=sru)
    config = make_config(
        tmp_path,
        f"""  - key: ob-asiel
    name: Officiële bekendmakingen
    kind: officielebekendmakingen
    url: {base}
    since: 2026-09-01
    dossiers: [36704]
    creators: [Ministerie van Asiel en Migratie]
    pause: 0
""",
    )
    first = run(config, store)
    assert first.outcome == "error" and first.new == 2
    assert store.connector_cursor("ob-asiel") is None  # not in order: no cursor until complete
    cql = queries[0]["query"][0]
    assert cql.startswith("c.product-area==officielepublicaties AND dt.modified>=2026-09-01")
    assert 'dt.creator="Ministerie van Asiel en Migratie"' in cql
    assert queries[0]["recordSchema"] == ["gzd"] and queries[0]["version"] == ["2.0"]

    second = run(config, store)
    assert (second.outcome, second.new, second.unchanged) == ("ok", 1, 2)
    assert store.connector_cursor("ob-asiel") == "2026-12-01"
    third = run(config, store)
    assert (third.outcome, third.new) == ("ok", 1)
    assert "dt.modified>=2026-12-01" in queries[-1]["query"][0]
    assert guids(store, "ob-asiel") == [
        "kst-36704-3",
        "kst-36704-4",
        "kst-36704-5",
        "stcrt-2026-30123",
    ]
    rows = {r.item.guid: r for r in store.iter_items(ItemQuery(sources=("ob-asiel",)))}
    assert rows["kst-36704-4"].item.url == "https://zoek.officielebekendmakingen.nl/kst-36704-4"
    assert rows["stcrt-2026-30123"].entities == (
        "bwbr:BWBR0012289",
        "kamerstuk:36704",
        "stcrt:2026-30123",
    )


# ----------------------------------------------------------------------------- rechtspraak


def test_rechtspraak_pages_fails_once_and_resumes_from_its_cursor(
    http_server: TestServer, store: Store, tmp_path: Path
) -> None:
    base = http_server.url("/uitspraken")
    fail: list[int] = []
    searches: list[dict[str, list[str]]] = []

    def search(req: Request) -> None:
        q = parse_qs(req.query)
        searches.append(q)
        if q.get("modified") == ["2026-10-04T09:00:00Z"]:
            name = "search-since.xml" if q["from"] == ["0"] else None
        elif q["from"] == ["3"]:
            if once(fail, req):
                return
            name = "search-page2.xml"
        elif q.get("modified") == ["2026-11-03T08:00:00Z"] or q["from"] != ["0"]:
            name = None
        else:
            name = "search-page1.xml"
        body = (
            fixture("rechtspraak", name, base)
            if name
            else b'<feed xmlns="http://www.w3.org/2005/Atom"><subtitle>0</subtitle></feed>'
        )
        answer(req, body, "application/atom+xml")

    def content(req: Request) -> None:
        q = parse_qs(req.query)
        number = q["id"][0].rsplit(":", 1)[-1]
        assert q["return"] == ["META"]
        answer(req, fixture("rechtspraak", f"meta-{number}.xml", base), "application/xml")

    http_server.route("/uitspraken/zoeken", handler=search)
    http_server.route("/uitspraken/content", handler=content)
    rvs = "http://standaarden.overheid.nl/owms/terms/Raad_van_State"
    area = "http://psi.rechtspraak.nl/rechtsgebied#bestuursrecht_vreemdelingenrecht"
    config = make_config(
        tmp_path,
        f"""  - key: rvs-vreemdelingen
    name: Raad van State
    kind: rechtspraak
    url: {base}
    since: 2026-09-01
    creators: ["{rvs}"]
    subjects: ["{area}"]
    page_size: 3
    pause: 0
""",
    )
    first = run(config, store)
    assert first.outcome == "error" and first.new == 2
    assert store.connector_cursor("rvs-vreemdelingen") == "2026-10-04T09:00:00Z"
    q0 = searches[0]
    assert (q0["creator"], q0["subject"], q0["modified"]) == ([rvs], [area], ["2026-09-01"])
    assert (q0["sort"], q0["return"], q0["max"]) == (["ASC"], ["DOC"], ["3"])
    assert "%23bestuursrecht" in http_server.requests("/uitspraken/zoeken")[0].target

    second = run(config, store)
    assert (second.outcome, second.new, second.unchanged) == ("ok", 2, 1)
    assert searches[-2]["modified"] == ["2026-10-04T09:00:00Z"]
    third = run(config, store)
    assert (third.outcome, third.new) == ("ok", 0)
    assert searches[-1]["modified"] == ["2026-11-03T08:00:00Z"]
    assert guids(store, "rvs-vreemdelingen") == [
        "ECLI:NL:RVS:2026:7001",
        "ECLI:NL:RVS:2026:7002",
        "ECLI:NL:RVS:2026:7010",
        "ECLI:NL:RVS:2026:7012",
    ]  # ECLI:NL:RVS:2026:7003 was withdrawn (deleted="doc")
    ruling = store.dossier("ecli:ECLI:NL:RVS:2026:7012")[0]
    assert ruling.item.published == datetime(2026, 11, 3, tzinfo=UTC)  # dcterms:issued
    assert ruling.details["decision_date"] == "2026-11-02"  # dcterms:date
    assert ruling.details["case_number"] == "20260507012/1/V7012"
    assert "celex:32013L0032" in ruling.entities
    assert [r.item.guid for r in store.dossier("kamerstuk:36704")] == ["ECLI:NL:RVS:2026:7010"]


# ------------------------------------------------------------------------------------- woo


def test_woo_pages_fails_once_keeps_the_hash_and_stops_at_its_cursor(
    http_server: TestServer, store: Store, tmp_path: Path
) -> None:
    base = http_server.url("/overheid/openbaarmakingen/api/v0")
    fail: list[int] = []
    state = {"new": False}

    def lists(req: Request) -> None:
        q = parse_qs(req.query, keep_blank_values=True)
        if state["new"] and q["start"] == ["0"]:
            body = fixture("woo", "list-new.json", base)
        elif q["start"] == ["2"]:
            if once(fail, req):
                return
            body = fixture("woo", "list-page2.json", base)
        else:
            body = fixture("woo", "list-page1.json", base)
        answer(req, body, "application/json")

    def detail(req: Request) -> None:
        ident = req.path.rsplit("/", 1)[-1]
        answer(req, fixture("woo", f"detail-{ident}.json", base), "application/json")

    http_server.route("/overheid/openbaarmakingen/api/v0/zoek", handler=lists)
    for ident in ("woo-am-0002", "woo-am-0004", "woo-am-0005", "woo-am-0006"):
        http_server.route(f"/overheid/openbaarmakingen/api/v0/zoek/{ident}", handler=detail)
    config = make_config(
        tmp_path,
        f"""  - key: woo-am
    name: Woo-publicaties Asiel en Migratie
    kind: woo
    url: {base}
    since: 2026-09-01
    publishers: [ministerie van Asiel en Migratie]
    page_size: 2
    pause: 0
""",
    )
    first = run(config, store)
    assert first.outcome == "error" and first.new == 2
    assert store.connector_cursor("woo-am") is None  # newest first: no cursor until complete
    q0 = parse_qs(
        http_server.requests("/overheid/openbaarmakingen/api/v0/zoek")[0].target.split("?", 1)[1]
    )
    assert (q0["sort"], q0["publicatiedatumVan"], q0["aantalResultaten"]) == (
        ["laatst-gewijzigd"],
        ["01-09-2026"],
        ["2"],
    )
    second = run(config, store)
    assert (second.outcome, second.new, second.unchanged) == ("ok", 1, 2)
    assert store.connector_cursor("woo-am") == "2026-11-05T09:23:36.587Z"
    lists_before = len(http_server.requests("/overheid/openbaarmakingen/api/v0/zoek"))
    state["new"] = True
    third = run(config, store)
    assert (third.outcome, third.new) == ("ok", 1)
    # stopped at the cursor: one list page, no second one
    assert len(http_server.requests("/overheid/openbaarmakingen/api/v0/zoek")) == lists_before + 1
    assert guids(store, "woo-am") == ["woo-am-0002", "woo-am-0004", "woo-am-0005", "woo-am-0006"]
    doc = store.dossier("kamerstuk:36704")[0]
    assert doc.item.guid == "woo-am-0005" and doc.doc_kind == "Woo-besluit"
    assert len(doc.details["file_hash"]) == 64
    assert doc.details["responsible"].endswith("/mnre1162")


# ------------------------------------------------------------------------------------- cbs


def test_cbs_one_item_per_new_period_with_the_change_in_a_year(
    http_server: TestServer, store: Store, tmp_path: Path
) -> None:
    base = http_server.url("/ODataApi/OData")
    fail: list[int] = []
    state = {"later": False}

    def infos(req: Request) -> None:
        name = "tableinfos-later.json" if state["later"] else "tableinfos.json"
        answer(req, fixture("cbs", name, base), "application/json")

    def data(req: Request) -> None:
        q = unquote(req.query)
        assert "startswith(Nationaliteit,'T001059')" in q or "$skiptoken" in q
        if state["later"]:
            name = "data-later.json"
        elif "$skiptoken=8" in q:
            if once(fail, req):
                return
            name = "data-page2.json"
        else:
            name = "data-page1.json"
        answer(req, fixture("cbs", name, base), "application/json")

    http_server.route("/ODataApi/OData/83102NED/TableInfos", handler=infos)
    http_server.route("/ODataApi/OData/83102NED/TypedDataSet", handler=data)
    config = make_config(
        tmp_path,
        f"""  - key: cbs-asiel
    name: CBS asielverzoeken
    kind: cbs
    url: {base}
    table: 83102NED
    since: 2026-01-01
    pause: 0
""",
    )
    first = run(config, store)
    assert (first.outcome, first.new) == ("error", 0)
    assert store.connector_cursor("cbs-asiel") is None
    second = run(config, store)
    assert (second.outcome, second.new) == ("ok", 3)
    assert store.connector_cursor("cbs-asiel") == "2026-04-20T02:00:00"
    data_requests = len(http_server.requests("/ODataApi/OData/83102NED/TypedDataSet"))
    third = run(config, store)
    assert (third.outcome, third.new) == ("ok", 0)
    assert len(http_server.requests("/ODataApi/OData/83102NED/TypedDataSet")) == data_requests
    state["later"] = True
    fourth = run(config, store)
    assert (fourth.outcome, fourth.new, fourth.unchanged) == ("ok", 1, 3)
    rows = {r.item.guid: r.item for r in store.iter_items(ItemQuery(sources=("cbs-asiel",)))}
    assert sorted(rows) == [f"cbs:83102NED:2026MM0{m}" for m in (1, 2, 3, 4)]
    march = rows["cbs:83102NED:2026MM03"]
    # March 2026: 3,450 against 3,300 in March 2025 (+5%)
    assert (
        march.title
        == "CBS 83102NED, maart 2026: 3.450 asielverzoeken (+5% t.o.v. 3.300 een jaar eerder)"
    )
    assert "nareizigers: 720 (+9% t.o.v. 660 een jaar eerder)" in march.summary


def test_requests_to_one_service_go_one_at_a_time_with_its_pause(
    http_server: TestServer, store: Store, tmp_path: Path
) -> None:
    base = http_server.url("/OData/v4/2.0")

    def documents(req: Request) -> None:
        name = "document-page2.json" if "$skip=2" in unquote(req.query) else "document-page1.json"
        answer(req, fixture("tweedekamer", name, base), "application/json")

    http_server.route("/OData/v4/2.0/Document", handler=documents)
    http_server.route(
        "/OData/v4/2.0/Zaak",
        handler=lambda req: answer(
            req, fixture("tweedekamer", "zaak-page1.json", base), "application/json"
        ),
    )
    sources = "".join(
        f"""  - key: tk-{n}
    name: Tweede Kamer {n}
    kind: tweedekamer
    url: {base}
    dossiers: [{n}]
    pause: 0.3
"""
        for n in (36704, 36855)
    )
    config = make_config(tmp_path, sources)
    result = asyncio.run(run_fetch(config, store, every=True, clock=lambda: NOW))
    assert [o.outcome for o in result.outcomes] == ["ok", "ok"]
    reqs = sorted(http_server.requests(), key=lambda r: r.started)
    assert len(reqs) == 6  # two sources: Document pages 1 and 2, and Zaak each
    assert http_server.max_in_flight() == 1
    for before, after in zip(reqs, reqs[1:], strict=False):
        assert before.ended is not None and after.started - before.ended >= 0.29


def test_an_answer_that_is_not_the_service_shape_is_the_source_error(
    http_server: TestServer, store: Store, tmp_path: Path
) -> None:
    base = http_server.url("/ODataApi/OData")
    http_server.route(
        "/ODataApi/OData/83102NED/TableInfos", "<html>Onderhoud</html>", content_type="text/html"
    )
    config = make_config(
        tmp_path,
        f"""  - key: cbs-asiel
    name: CBS
    kind: cbs
    url: {base}
    table: 83102NED
    pause: 0
""",
    )
    outcome = run(config, store)
    assert outcome.outcome == "error" and "not JSON" in (outcome.error or "")
    assert store.fetch_log("cbs-asiel")[0]["error_kind"] == "extract"
    assert store.source_states(["cbs-asiel"])["cbs-asiel"].consecutive_errors == 1
