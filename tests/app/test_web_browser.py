"""feedwatch web in a real browser: Playwright drives Debian's Chromium (/usr/bin/chromium, never
a downloaded one) against `feedwatch web` started as a process on a free port of 127.0.0.1.

Navigation by links and keyboard, labelling with and without the token, hostile items inert
(no dialog, no script, no handler), no CSP violation on any page, nothing wider than a phone.
Screenshots of every page, at desktop and phone width, go to test-artifacts/web/ (not in git).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from builders import make_rows, put
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, sync_playwright

from feedwatch.app.pipeline import decided
from feedwatch.edges.store import SourceUpdate, Store
from feedwatch.edges.store.topics import topic_rows
from feedwatch.types import Item

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "web"


def _apply(store: Store, update: SourceUpdate) -> None:
    """Store one fetch as the pipeline does: decided first."""
    store.apply(decided(store, [update])[0])


TOKEN = "browser-test-token-0123456789"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def chromium_path() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and os.path.exists(candidate):
            return candidate
    raise AssertionError("chromium is not installed: scripts/system-deps.sh installs it")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}"
    store = Store(url)
    put(store, make_rows())
    start = datetime.now(UTC) - timedelta(hours=3)
    for n in range(2):
        _apply(
            store,
            SourceUpdate(
                key="krant",
                started_at=start + timedelta(hours=n),
                duration=1.0,
                outcome="error",
                url="https://krant.example/f",
                error="connection refused",
                error_kind="connect",
            ),
        )
    _apply(
        store,
        SourceUpdate(
            key="rijk",
            started_at=start,
            duration=0.1,
            outcome="ok",
            url="https://rijk.example/f",
            items=(
                Item(
                    id="k1",
                    source="rijk",
                    url="https://example.org/rijk/kamerbrief-36704",
                    title="Kamerbrief over de Asielnoodmaatregelenwet (Kamerstuk 36704)",
                    summary="De minister beantwoordt vragen over Kamerstuk 36704, nr. 3.",
                    published=start,
                    date_source="feed",
                    first_seen=start,
                    content_hash="k1",
                ),
            ),
            entities={"k1": ("kamerstuk:36704",)},
        ),
    )
    store.close()
    return url


@pytest.fixture(scope="module")
def server(database: str) -> Iterator[str]:
    """`feedwatch web --port 0` as its own process; yields the address it prints."""
    env = os.environ | {"FEEDWATCH_WEB_TOKEN": TOKEN}
    proc = subprocess.Popen(
        [sys.executable, "-m", "feedwatch", "--database-url", database, "web", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        assert found, f"no address in {line!r}; stderr: {proc.stderr.read() if proc.stderr else ''}"
        yield found.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


class Watch:
    """What a page did that it should not: dialogs opened, console errors (CSP violations)."""

    def __init__(self, page: Page) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error" and "status of 403" not in msg.text:
            self.errors.append(msg.text)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="nl-NL", viewport=DESKTOP)  # type: ignore[arg-type]
    p = context.new_page()
    p.set_default_timeout(10_000)
    yield p
    context.close()


A11Y_PROBLEMS = """() => {
  const out = [];
  if (!document.documentElement.lang) out.push("no lang on <html>");
  if (document.querySelectorAll("h1").length !== 1) out.push("not exactly one h1");
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (!el.labels || el.labels.length === 0) out.push("no label: " + (el.name || el.id));
  }
  for (const svg of document.querySelectorAll("svg")) {
    const named = svg.getAttribute("aria-label") || svg.getAttribute("aria-labelledby");
    if (svg.getAttribute("role") !== "img" || !named) out.push("svg without a name");
  }
  for (const el of document.querySelectorAll("a, button")) {
    if (!el.textContent.trim() && !el.getAttribute("aria-label")) out.push("nameless " + el.tagName);
  }
  return out;
}"""


def shoot(page: Page, name: str) -> None:
    """A full-page screenshot at desktop width and one at phone width, where nothing may be
    wider than the screen; and a check of what a screen reader and a keyboard need."""
    assert page.evaluate(A11Y_PROBLEMS) == [], name
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: {width}px wide on a {PHONE['width']}px screen"
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]


def test_navigation_by_links_and_keyboard(server: str, page: Page) -> None:
    watch = Watch(page)
    page.goto(server + "/")
    assert page.locator("h1").inner_text() == "Overzicht"
    assert page.locator("svg.bars").count() == 4
    assert "faalt al 2 keer op rij" in page.locator("ul.notes").inner_text()
    shoot(page, "overview")
    page.keyboard.press("Tab")  # the first stop is the skip link
    assert page.evaluate("document.activeElement.textContent") == "Naar de inhoud"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    page.get_by_role("navigation", name="Hoofdmenu").get_by_role(
        "link", name="Asielzoekerscentrum"
    ).click()
    page.wait_for_url(re.compile(r"/topics/asielzoekerscentrum$"))
    assert page.locator("a[aria-current=page]").inner_text() == "Asielzoekerscentrum"
    assert page.locator("ol.items > li").count() == 4
    shoot(page, "topic")

    page.get_by_role(
        "link", name="Kabinet opent nieuw aanmeldcentrum voor asielzoekers in oosten"
    ).click()
    page.wait_for_url(re.compile(r"/items/a3$"))
    assert "uit de feed" in page.locator("dl.facts").inner_text()
    shoot(page, "item")

    page.locator("dl.facts").get_by_role("link", name="Testkrant").click()
    page.wait_for_url(re.compile(r"/sources/krant$"))
    assert "de website was niet bereikbaar" in page.locator("section.source-info").inner_text()
    assert page.locator("ol.items > li").count() == 4
    page.fill("#since", "2026-11-21")
    page.fill("#until", "2026-11-21")
    page.select_option("#topic", "migratie")
    page.get_by_role("button", name="Toepassen").click()
    page.wait_for_url(re.compile(r"since=2026-11-21"))
    assert page.locator("ol.items > li").count() == 2  # b2 (first seen that day) and h2
    shoot(page, "source")

    page.goto(server + "/items/k1")
    page.get_by_role("link", name="kamerstuk:36704").click()
    page.wait_for_url(re.compile(r"/dossiers/kamerstuk:36704$"))
    assert page.locator("h1").inner_text() == "Dossier kamerstuk:36704"
    assert page.locator("ol.timeline > li").count() == 1
    shoot(page, "dossier")

    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Dossiers").click()
    page.wait_for_url(re.compile(r"/dossiers$"))
    page.select_option("#period", "all")
    page.get_by_role("button", name="Toepassen").click()
    page.wait_for_url(re.compile(r"period=all"))
    assert page.locator("table.dossiers tbody th a").all_inner_texts() == ["36704"]
    shoot(page, "dossiers")
    page.get_by_role("textbox", name="Dossier openen").fill("kamerstuk 36704")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/dossiers/kamerstuk:36704$"))

    header = page.get_by_role("banner")
    header.get_by_role("searchbox", name="Zoeken").fill("sporthal OR aanmeldcentrum")
    header.get_by_role("button", name="Zoek").click()
    page.wait_for_url(re.compile(r"/search\?q=sporthal"))
    found = page.locator("ol.results h3 a").evaluate_all("as => as.map(a => a.pathname)")
    assert sorted(found) == ["/items/a1", "/items/a2", "/items/a3", "/items/h1"]
    marks = page.locator("ol.results mark").all_inner_texts()
    assert "sporthal" in marks  # h1's summary, around its match
    assert page.locator("ol.results script, ol.results img").count() == 0
    assert page.locator("#q").input_value() == "sporthal OR aanmeldcentrum"
    shoot(page, "search")

    # The server runs in the repository: config/monitors.yaml beside config/feeds.yaml.
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Monitors").click()
    page.wait_for_url(re.compile(r"/monitors$"))
    assert "ter-apel" in page.locator("table.monitors").inner_text()
    shoot(page, "monitors")
    page.locator("table.monitors").get_by_role("link", name="ter-apel").click()
    page.wait_for_url(re.compile(r"/monitors/ter-apel$"))
    assert page.locator("h2#test-h").inner_text() == "Wat deze monitor zou sturen"
    shoot(page, "monitor")

    page.goto(server + "/sources")
    page.get_by_role("link", name="Fouten op rij").click()
    page.wait_for_url(re.compile(r"sort=errors&dir=asc"))
    page.get_by_role("link", name="Fouten op rij").click()
    page.wait_for_url(re.compile(r"sort=errors&dir=desc"))
    first = page.locator("table.sources tbody tr").first
    assert "Testkrant" in first.inner_text()
    # at desktop width the whole health table is in view, no sideways scrolling
    fits = "(() => { const s = document.querySelector('.scroll'); return s.scrollWidth <= s.clientWidth })()"
    assert page.evaluate(fits)
    shoot(page, "sources")

    page.get_by_role("link", name="English").click()
    assert page.locator("h1").inner_text() == "Sources"
    page.goto(server + "/login")
    shoot(page, "login")
    page.goto(server + "/?lang=nl")
    assert watch.dialogs == [] and watch.errors == []


def test_hostile_items_are_inert_in_the_browser(server: str, page: Page) -> None:
    watch = Watch(page)
    for path in ("/items/h1", "/items/h2", "/items/h3", "/items/h4", "/sources/krant", "/"):
        page.goto(server + path)
        assert page.locator("script").count() == 0, path
        assert page.locator("img, iframe, object, embed").count() == 0, path
        handlers = page.evaluate(
            "[...document.querySelectorAll('*')].flatMap(e => [...e.attributes]"
            ".filter(a => a.name.startsWith('on')).map(a => e.tagName + ' ' + a.name))"
        )
        assert handlers == [], (path, handlers)
        links = page.evaluate("[...document.links].map(a => a.protocol)")
        assert set(links) <= {"http:", "https:"}, (path, links)
    page.goto(server + "/items/h1")
    assert "<script>alert('x')</script>" in page.locator("h1").inner_text()
    assert "<img src=x onerror=alert(1)>" in page.locator("p.text").inner_text()
    shoot(page, "hostile-item")
    assert watch.dialogs == []
    assert watch.errors == []


def _manual(database: str, item_id: str) -> dict[str, bool]:
    store = Store(database)
    try:
        return {r.topic: r.assigned for r in topic_rows(store, item_id) if r.origin == "manual"}
    finally:
        store.close()


def test_labelling_needs_the_token(server: str, page: Page, database: str) -> None:
    page.goto(server + "/items/b1")
    buttons = page.locator("ul.labels button")
    assert buttons.count() >= 4
    assert all(buttons.nth(i).is_disabled() for i in range(buttons.count()))
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    assert csrf
    # The form sent anyway (as a script or another tool could): refused, nothing changes.
    r = page.request.post(
        server + "/items/b1/labels",
        form={"csrf": csrf, "topic": "migratie", "action": "add"},
        max_redirects=0,
    )
    assert r.status == 403
    r = page.request.post(
        server + "/items/b1/labels",
        form={"csrf": "forged", "topic": "migratie", "action": "add"},
        max_redirects=0,
    )
    assert r.status == 403
    page.goto(server + "/login")
    page.fill("#token", "not the token")
    page.get_by_role("button", name="Inloggen").click()
    assert "klopt niet" in page.locator("p.error").inner_text()
    assert _manual(database, "b1") == {}


def test_labels_set_in_the_browser_are_what_why_shows(
    server: str, page: Page, database: str
) -> None:
    page.goto(server + "/items/b2")
    page.get_by_role("link", name="Log in om labels te wijzigen.").click()
    page.fill("#token", TOKEN)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/items/b2$"))
    page.get_by_role("button", name="Toevoegen aan Integratie").click()
    page.wait_for_url(re.compile(r"/items/b2\?saved=1"))
    assert page.get_by_role("status").inner_text() == "Label opgeslagen."
    page.get_by_role("button", name="Verwijderen uit Migratie").focus()  # by keyboard
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("button", name="Toevoegen aan Migratie").count() == 1
    why_table = page.locator("table.why").inner_text()
    assert "met de hand toegevoegd" in why_table and "met de hand verwijderd" in why_table
    shoot(page, "item-labelled")
    out = subprocess.run(
        [sys.executable, "-m", "feedwatch", "--database-url", database, "why", "b2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(r"yes integratie .*label by hand: added", out), out
    assert re.search(r"no  migratie .*label by hand: removed", out), out
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Integratie").click()
    assert page.get_by_role("link", name=re.compile("lijst van veilige landen")).count() == 1
