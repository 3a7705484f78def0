"""The HTML digest rendered by headless Chromium (Debian's chromium package) to a PNG that is
checked to be non-blank: several colours, dark text pixels, and the blue heading colour."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

from builders import make_digest

from feedwatch.core.digest import render_email

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("chromium is not installed: apt-get install chromium (see the Makefile)")


def read_png(data: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """(width, height, pixels) of an 8-bit RGB or RGBA PNG, unfiltered with zlib alone."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    pixels: list[tuple[int, ...]] = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        pixels.extend(tuple(line[x : x + 3]) for x in range(0, stride, bpp))
        prev = line
    return width, height, pixels


def test_html_digest_renders_in_headless_chromium(tmp_path: Path) -> None:
    _subject, _text, html = render_email(make_digest(hostile=None))
    page = tmp_path / "digest.html"
    page.write_text(html, encoding="utf-8")
    shot = tmp_path / "digest.png"
    result = subprocess.run(
        [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=760,1400",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=90,
        check=False,
    )
    assert shot.exists(), result.stderr.decode(errors="replace")[-2000:]
    width, height, pixels = read_png(shot.read_bytes())
    assert (width, height) == (760, 1400)
    colours = Counter(pixels)
    assert len(colours) > 50, "the screenshot is (nearly) blank"
    background, share = colours.most_common(1)[0]
    assert share < 0.9 * len(pixels)
    dark = sum(n for (r, g, b), n in colours.items() if r + g + b < 200)
    assert dark > 2000, "hardly any text"
    # the heading's blue (#154273) is drawn: the inline CSS reached the renderer
    assert any(
        abs(r - 0x15) < 12 and abs(g - 0x42) < 12 and abs(b - 0x73) < 12 for r, g, b in colours
    )
    keep = Path(__file__).resolve().parents[2] / "data" / "digest-screenshot.png"
    if keep.parent.exists():
        shutil.copyfile(shot, keep)  # for a person to look at; data/ is not in git
