"""kill -9 trials per database (issue 13): 25 `feedwatch fetch --all` runs with a worker process
and 25 `feedwatch digest` runs killed at random moments, on SQLite and on an embedded
PostgreSQL, each followed by a rerun; prints hung reruns, leftover processes, integrity
failures and digests lost or doubled (tests/crashkill.py does the work).

    .venv/bin/python bench/crash.py [--fetch-trials 25] [--digest-trials 25] [--seed N] [-v]

Exit status 1 if any trial hung, left a process, broke the data or lost or doubled a digest.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import crashkill  # found through the path set above

if __name__ == "__main__":
    sys.exit(crashkill.main(sys.argv[1:]))
