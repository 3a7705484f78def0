"""Property tests (issue 7 point 4) that the other modules' tests lack: the HTML listing
extractor, feed dates, plain text, date checks and the classifier on arbitrary input never
raise, and what they return keeps its invariants. (Already elsewhere: canonical_url idempotent
and normalise never raising in test_normalise.py; Dutch dates in test_dates.py; textnorm.)"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from feedwatch.core.classify import classify, load_topics
from feedwatch.core.extract.feeds import parse_feed_date
from feedwatch.core.extract.listing import extract_listing
from feedwatch.core.normalise import check_date, normalise, plain_text
from feedwatch.types import RawItem

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
TOPICS = load_topics()
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# HTML-ish text: tags, attributes, hostile schemes, Dutch dates, entities
_PIECES = st.sampled_from([
    "<li>", "</li>", "<article>", "</article>", "<a href='", "'>", "</a>", "<h2>", "</h2>",
    "<time datetime='2026-11-20T10:00:00+01:00'>", "</time>", "javascript:alert(1)", "data:x",
    "/nieuws/opvang-", "https://bron.example.nl/", "3 mei 2024", "&amp;", "&#0;", "<script>",
    "</script>", "\r\n", "Raad", "asielzoekers", "<ul>", "</ul>", "<div class='item'>", "</div>",
    "<!--", "-->", "<base href='javascript:x'>", "\u2028",
])  # fmt: skip
HTMLISH = st.lists(st.one_of(_PIECES, st.text(max_size=12)), max_size=60).map("".join)


@FAST
@given(HTMLISH)
def test_extract_listing_never_raises_and_links_are_http(html: str) -> None:
    items = extract_listing(
        html.encode("utf-8", "surrogatepass"),
        "https://bron.example.nl/nieuws",
        selectors=None,
        now=NOW,
    )
    for raw in items:
        item = normalise("p", raw, NOW, base_url="https://bron.example.nl/nieuws")
        if item is None:
            continue
        assert item.url == "" or item.url.startswith(("http://", "https://")), item.url
        assert not CONTROL.search(item.title)
        assert item.published is None or item.published <= NOW + timedelta(days=1)


@given(
    st.one_of(
        st.text(max_size=60),
        st.from_regex(
            r"\A(Mon|Fri|Sat), [0-9]{1,2} (Jan|Feb|Dec|Foo) [0-9]{1,5} [0-9]{2}:[0-9]{2}:[0-9]{2} "
            r"([+-][0-9]{4}|CEST|GMT|XYZ)\Z"
        ),
        st.from_regex(
            r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2})?(Z|[+-][0-9]{2}:[0-9]{2})?)?\Z"
        ),
    )
)
def test_feed_dates_are_aware_utc_or_none(text: str) -> None:
    value = parse_feed_date(text, NOW)
    if value is not None:
        assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
        value + timedelta(days=1)  # no overflow near the edges


@given(st.text(max_size=400), st.integers(min_value=1, max_value=300))
def test_plain_text_is_one_clean_line_within_the_limit(text: str, limit: int) -> None:
    out = plain_text(text, limit)
    assert not CONTROL.search(out) and "\n" not in out and "\r" not in out
    assert len(out) <= limit + 1
    assert out == out.strip()


@given(st.datetimes(timezones=st.sampled_from([UTC, None])))
def test_check_date_keeps_only_plausible_aware_dates(value: datetime) -> None:
    kept = check_date(value, NOW)
    if kept is not None:
        assert kept.tzinfo is not None and kept <= NOW + timedelta(days=1)
        assert kept.year >= 1995


@FAST
@given(st.text(max_size=200), st.text(max_size=400), st.text(max_size=200))
def test_normalise_keeps_its_invariants(title: str, summary: str, link: str) -> None:
    item = normalise("s", RawItem(title=title, link=link, summary=summary), NOW)
    if item is not None:
        assert item.url == "" or item.url.startswith(("http://", "https://"))
        assert not CONTROL.search(item.title) and item.title


@FAST
@given(st.text(max_size=200), st.text(max_size=600))
def test_classify_never_raises_and_scores_are_sane(title: str, text: str) -> None:
    scores = classify(title, text, TOPICS)
    assert [s.topic for s in scores] == [s.topic for s in classify("", "", TOPICS)]
    for s in scores:
        # exclusion terms weigh against a topic, so a rule score may be below zero
        assert math.isfinite(s.score) and s.assigned == (s.score >= s.threshold)


# URLs near the edge of canonical_url's fast path: case, ports, users, escapes, ";", "?", "#"
_URL_PIECES = st.sampled_from(
    [
        "http://",
        "https://",
        "HTTP://",
        "ftp://",
        "//",
        "www.",
        "bron",
        "Bron",
        "example",
        ".nl",
        ".",
        "-",
        ":80",
        ":8080",
        "@",
        "user",
        "/",
        "//",
        "nieuws",
        "a-b_c~d",
        "%41",
        "%2f",
        ";",
        ";p",
        "?",
        "?utm_source=x",
        "&q=1",
        "#",
        "#top",
        " ",
        "\t",
        "é",
        "ü",
        "..",
        "./",
        "(1)",
        "*",
        "+",
        "=",
        "!",
        "$",
        "'",
        ",",
        ":",
        "\u200b",
        "xn--bcher-kva",
    ]
)


@FAST
@example("http://bron.example.nl/x;", "http://bron.example.nl/")  # urljoin drops the ";"
@example("https://bron.example.nl", None)
@example("https://Bron.example.nl/a", None)
@example("https://bron.example.nl./a", None)
@example("http://bron.example.nl:80/a", None)
@given(
    st.lists(_URL_PIECES, min_size=1, max_size=12).map("".join),
    st.sampled_from([None, "https://bron.example.nl/feed", "http://bron.example.nl/", "ftp://x/"]),
)
def test_canonical_url_fast_path_gives_what_the_full_path_gives(url: str, base: str | None) -> None:
    from feedwatch.core.normalise import _CONTROL_RE, _canonical, canonical_url

    def run(f: object, *args: object) -> str | None:
        try:
            return f(*args)  # type: ignore[operator, no-any-return]
        except ValueError:
            return None

    assert run(canonical_url, url, base) == run(_canonical, _CONTROL_RE.sub("", url).strip(), base)
