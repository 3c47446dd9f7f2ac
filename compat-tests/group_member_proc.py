"""A groupsutil.Member in its own process, for crash (SIGKILL) tests.

usage: group_member_proc.py BOOTSTRAP GROUP TOPIC NAME EVENTS_FILE [CONF_JSON]

Consumes and commits until killed (or SIGTERM, which closes the consumer cleanly).
Every delivery, acknowledged commit and assignment change is a JSON line in EVENTS_FILE.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from groupsutil import Ledger, Member  # noqa: E402


def main() -> None:
    bootstrap, group, topic, name, path = sys.argv[1:6]
    conf = json.loads(sys.argv[6]) if len(sys.argv) > 6 else {}
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    m = Member(bootstrap, group, topic, Ledger(path), name, **conf)
    while not stop[0]:
        m.step(timeout=0.05)
    m.close()


if __name__ == "__main__":
    main()
