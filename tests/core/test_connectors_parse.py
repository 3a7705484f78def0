"""The pure half of the connectors: request URLs from a query and a cursor, responses -> records (#17)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from feedwatch.core.connectors import cbs, officielebekendmakingen, rechtspraak, tweedekamer, woo
from feedwatch.errors import ExtractError
from feedwatch.types import ConnectorQuery

DATA = Path(__file__).resolve().parents[1] / "data" / "connectors"
BASE = "https://gegevensmagazijn.tweedekamer.nl/OData/v4/2.0"


def body(kind: str, name: str, base: str = "https://example.org") -> bytes:
    return (DATA / kind / name).read_text(encoding="utf-8").replace("{base}", base).encode()


def test_tweedekamer_url_always_excludes_deleted_and_combines_what_is_followed() -> None:
    q = ConnectorQuery(since=date(2026, 1, 1), dossiers=(36704,), words=("asiel",), committee="AM")
    url = tweedekamer.first_url(BASE, "Zaak", q, None, page_size=250)
    flt = unquote(parse_qs(urlsplit(url).query)["$filter"][0])
    assert flt.startswith("Verwijderd eq false and GewijzigdOp ge 2026-01-01T00:00:00Z and (")
    assert "Kamerstukdossier/any(d: d/Nummer eq 36704)" in flt
    assert "contains(Titel,'asiel') or contains(Onderwerp,'asiel')" in flt
    assert "ZaakActor/any(a: a/Relatie eq 'Voortouwcommissie'" in flt
    cursor_url = tweedekamer.first_url(
        BASE, "Document", q, "2026-10-05T14:00:00+02:00", page_size=2
    )
    assert "GewijzigdOp ge 2026-10-05T14:00:00+02:00" in unquote(cursor_url)
    assert "Zaak/any(z: z/ZaakActor/any(" in unquote(cursor_url)
    assert "$top=2" in cursor_url and url.startswith(BASE + "/Zaak?")
    quoted = tweedekamer.first_url(
        BASE, "Document", ConnectorQuery(words=("d'r",)), None, page_size=1
    )
    assert "contains(Titel,'d''r')" in unquote(quoted)


def test_tweedekamer_page_reads_records_cursor_and_next_link() -> None:
    page = tweedekamer.parse(
        body("tweedekamer", "document-page1.json", BASE), "k", BASE, "Document"
    )
    assert [r.doc_kind for r in page.records] == [
        "Memorie van toelichting",
        "Advies Raad van State",
    ]
    assert page.cursor == "2026-10-05T14:00:00+02:00"
    assert page.next_url is not None and "$skip=2" in page.next_url
    first = page.records[0]
    assert first.entities == ("kamerstuk:36704",)
    assert first.url == BASE + "/Document(0a1b2c3d-0000-4000-8000-000000000001)/resource"
    assert first.published == datetime(2026, 10, 1, 22, 0, tzinfo=UTC)
    deleted = tweedekamer.parse(body("tweedekamer", "document-page2.json"), "k", BASE, "Document")
    assert [r.deleted for r in deleted.records] == [False, True] and deleted.next_url is None


@pytest.mark.parametrize("raw", [b"<html>storing</html>", b'{"error": "x"}', b"[]"])
def test_tweedekamer_refuses_what_is_not_an_odata_page(raw: bytes) -> None:
    with pytest.raises(ExtractError):
        tweedekamer.parse(raw, "k", BASE, "Document")


def test_sru_query_starts_with_the_product_area_and_pages_by_start_record() -> None:
    q = ConnectorQuery(since=date(2026, 9, 1), types=("Kamerstuk",), creators=('Min "x"',))
    url = officielebekendmakingen.first_url(
        "https://repository.overheid.nl/sru", q, None, page_size=50
    )
    params = parse_qs(urlsplit(url).query)
    assert params["query"] == [
        'c.product-area==officielepublicaties AND dt.modified>=2026-09-01 AND (dt.type="Kamerstuk")'
        ' AND (dt.creator="Min x")'
    ]
    assert (params["x-connection"], params["startRecord"]) == (["officielepublicaties"], ["1"])
    page = officielebekendmakingen.parse(body("officielebekendmakingen", "page1.xml"), "k", url)
    assert page.total == 3 and [r.guid for r in page.records] == ["kst-36704-3", "stcrt-2026-30123"]
    assert page.next_url is not None and parse_qs(urlsplit(page.next_url).query)["startRecord"] == [
        "3"
    ]
    last = officielebekendmakingen.parse(
        body("officielebekendmakingen", "page2.xml"), "k", page.next_url
    )
    assert last.next_url is None
    assert last.records[0].url == "https://zoek.officielebekendmakingen.nl/kst-36704-4"


def test_sru_1_2_namespaces_read_the_same() -> None:
    raw = body("officielebekendmakingen", "since.xml").replace(
        b"http://docs.oasis-open.org/ns/search-ws/sruResponse", b"http://www.loc.gov/zing/srw/"
    )
    page = officielebekendmakingen.parse(raw, "k", "https://x/sru?startRecord=1")
    assert [r.guid for r in page.records] == ["kst-36704-5"] and page.next_url is None


def test_rechtspraak_entries_title_dates_and_withdrawn() -> None:
    url = rechtspraak.first_url(
        "https://data.rechtspraak.nl/uitspraken",
        ConnectorQuery(subjects=("http://psi.rechtspraak.nl/rechtsgebied#x",)),
        "2026-10-04T09:00:00Z",
        page_size=3,
    )
    assert "subject=http%3A%2F%2Fpsi.rechtspraak.nl%2Frechtsgebied%23x" in url
    assert "modified=2026-10-04T09%3A00%3A00Z" in url
    page = rechtspraak.parse(body("rechtspraak", "search-page1.xml"), "k", url)
    assert [r.deleted for r in page.records] == [False, False, True]
    assert page.records[0].details["decision_date"] == "2026-10-01"
    assert page.cursor == "2026-10-04T09:00:00Z"
    assert page.next_url is not None and "from=3" in page.next_url
    meta = rechtspraak.parse_meta(body("rechtspraak", "meta-7012.xml"), "k")
    assert (meta["issued"], meta["date"]) == ("2026-11-03", "2026-11-02")
    assert rechtspraak.decision_date_from_title(
        "ECLI:NL:RVS:2026:1, Raad van State, 15-01-2026, 1/1"
    ) == ("2026-01-15")


def test_woo_stops_at_the_cursor_and_filters_the_publisher() -> None:
    url = woo.first_url(
        "https://x/api/v0", ConnectorQuery(since=date(2026, 9, 1)), None, page_size=2
    )
    assert parse_qs(urlsplit(url).query)["publicatiedatumVan"] == ["01-09-2026"]
    page = woo.parse(
        body("woo", "list-new.json"),
        "k",
        url,
        cursor="2026-11-05T09:23:36.587Z",
        publishers=("ministerie van asiel en migratie",),
    )
    assert [r.guid for r in page.records] == ["woo-am-0006"] and page.next_url is None
    other = woo.parse(body("woo", "list-page2.json"), "k", url, cursor=None, publishers=("Asiel",))
    assert [r.guid for r in other.records] == ["woo-am-0002"]
    assert woo.parse_detail(b'{"versies": []}', "k") == {}
    with pytest.raises(ExtractError):
        woo.parse(b"{}", "k", url, cursor=None, publishers=())


def test_cbs_periods_and_changes() -> None:
    assert cbs.period_label("2026MM03") == "maart 2026"
    assert (
        cbs.period_label("2025JJ00") == "2025"
        and cbs.period_label("2026KW02") == "2e kwartaal 2026"
    )
    rows = [
        {"Perioden": "2025MM03", "TotaalAsielverzoeken_1": 1000, "NareizigersPersonen_4": 0},
        {"Perioden": "2026MM03", "TotaalAsielverzoeken_1": 1250, "NareizigersPersonen_4": 10},
        {"Perioden": "2026MM04", "TotaalAsielverzoeken_1": 900, "NareizigersPersonen_4": None},
    ]
    recs = cbs.records(
        rows, table="83102NED", base="b", q=ConnectorQuery(since=date(2026, 1, 1)), modified=None
    )
    assert [r.guid for r in recs] == ["cbs:83102NED:2026MM03", "cbs:83102NED:2026MM04"]
    assert (
        recs[0].title
        == "CBS 83102NED, maart 2026: 1.250 asielverzoeken (+25% t.o.v. 1.000 een jaar eerder)"
    )
    assert "nareizigers: 10 (+10 t.o.v. een jaar eerder)" in recs[0].summary
    assert "geen cijfer een jaar eerder" in recs[1].title
    assert "startswith(Nationaliteit,'T001059')" in unquote(cbs.data_url("b", "83102NED"))
    with pytest.raises(ExtractError):
        cbs.parse_info(b'{"value": []}', "k")


def test_woo_detail_is_asked_by_the_uuid_of_the_pid() -> None:
    raw = (
        b'{"totaal": 1, "resultaten": [{"document": {"id": "eef2_1", "pid": '
        b'"https://open.overheid.nl/documenten/eef2", "titel": "T", "mutatiedatumtijd": '
        b'"2026-03-21T09:23:36.587Z", "publisher": "ministerie van Asiel en Migratie"}}]}'
    )
    (rec,) = woo.parse(raw, "k", "https://x/zoek?start=0", cursor=None, publishers=()).records
    assert (rec.guid, rec.details["uuid"], rec.url) == (
        "eef2_1",
        "eef2",
        "https://open.overheid.nl/documenten/eef2",
    )
