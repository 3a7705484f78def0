"""Run the offline demo: serve demo/site on 127.0.0.1 and fetch every demo source with feedwatch.

    python demo/run.py          # what `make demo` runs; port from $FEEDWATCH_DEMO_PORT (8765)

The database is $FEEDWATCH_DATABASE_URL, default sqlite:///data/demo.db (relative to the
repository root, where the CLI runs). The CLI's output and exit code are passed through; a
second run reports 0 new items, because the server answers 304 to the stored validators.
After the fetch it writes the day's Markdown digest (profile `demo` in demo/digests.yaml, no
e-mail) and the topic feeds, under $FEEDWATCH_OUTPUT_DIR (default out/), and prints their paths,
and the `feedwatch web` command line that shows the demo database in the browser.
"""

from __future__ import annotations

import errno
import os
import shlex
import subprocess
import sys
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
REPO = DEMO_DIR.parent
if str(DEMO_DIR) not in sys.path:
    sys.path.insert(0, str(DEMO_DIR))

from serve import (  # noqa: E402  (the sibling module is found through the path set above)
    DEFAULT_PORT,
    HOST,
    port_busy_message,
    port_from_env,
    start_server,
    stop_server,
)

CONFIG = Path("demo") / "feeds.yaml"  # relative to REPO, where the CLI runs
DEFAULT_DATABASE_URL = "sqlite:///data/demo.db"


def config_for_port(port: int) -> Path:
    """The config to use: demo/feeds.yaml, or a copy under data/ with its URLs moved to port."""
    if port == DEFAULT_PORT:
        return CONFIG
    text = (REPO / CONFIG).read_text(encoding="utf-8")
    moved = text.replace(f"//{HOST}:{DEFAULT_PORT}/", f"//{HOST}:{port}/")
    target = Path("data") / f"demo-feeds-{port}.yaml"
    (REPO / target).write_text(moved, encoding="utf-8")
    return target


def cli_command() -> str:
    """How to call the CLI from the repository root, for the closing hint."""
    script = Path(sys.executable).parent / "feedwatch"
    if script.exists():
        try:
            return shlex.quote(str(script.relative_to(REPO)))
        except ValueError:
            return shlex.quote(str(script))
    return "feedwatch"


def feedwatch_command() -> list[str]:
    """`python -m feedwatch` with this interpreter."""
    return [sys.executable, "-m", "feedwatch"]


def digest_and_publish(config: Path, env: dict[str, str]) -> int:
    """Write the day's Markdown digest and the topic feeds; their paths are printed."""
    base = [*feedwatch_command(), "--config", str(config)]
    profiles = ["--profiles", str(CONFIG.parent / "digests.yaml")]
    print("\nDigest of the day (Markdown only, see demo/digests.yaml):", flush=True)
    code = subprocess.run([*base, "digest", *profiles], cwd=REPO, env=env, check=False).returncode
    print("\nTopic feeds (Atom and JSON Feed):", flush=True)
    code2 = subprocess.run([*base, "publish"], cwd=REPO, env=env, check=False).returncode
    return code or code2


def main() -> int:
    """Serve the mirror, run `feedwatch fetch --all` against it, stop the server."""
    port = port_from_env()
    (REPO / "data").mkdir(exist_ok=True)
    config = config_for_port(port)
    env = dict(os.environ)
    env.setdefault("FEEDWATCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    env["FEEDWATCH_ALLOW_PRIVATE"] = "1"

    try:
        server, thread = start_server(port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(port_busy_message(port), file=sys.stderr)
            return 1
        raise
    cmd = [sys.executable, "-m", "feedwatch", "--config", str(config), "fetch", "--all"]
    try:
        print(f"Demo mirror on http://{HOST}:{server.port}/ — fetching {config}", flush=True)
        returncode = subprocess.run(cmd, cwd=REPO, env=env, check=False).returncode
        returncode = digest_and_publish(config, env) or returncode
    except KeyboardInterrupt:
        returncode = 130
    finally:
        stop_server(server, thread)

    db = shlex.quote(env["FEEDWATCH_DATABASE_URL"])
    print(
        f"\nLook at the items: FEEDWATCH_DATABASE_URL={db} {cli_command()} --config {config} items",
        flush=True,
    )
    print(
        f"In the browser: FEEDWATCH_DATABASE_URL={db} {cli_command()} --config {config} web\n"
        "  then open http://127.0.0.1:8080/ (to set labels too, start it with "
        "FEEDWATCH_WEB_TOKEN=<a long secret> and log in with that value)",
        flush=True,
    )
    return returncode


if __name__ == "__main__":
    sys.exit(main())
