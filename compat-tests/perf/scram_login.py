#!/usr/bin/env python3
"""Time to a completed SCRAM login on loopback: TCP connect, SaslHandshake, the two
SaslAuthenticate rounds and the client's check of the server signature, with a raw Python
client (secutil.RawSasl); p50/p99 over 200 logins per mechanism. The client's PBKDF2 of the
password is computed once and reused (a real client pays it too, but it measures the client,
not the broker). Issue #11 asks for under 5 ms.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from common import Result, overrides_of, parser, percentile, print_table

from secutil import ADMIN_PASSWORD, ADMIN_USER, RawSasl, SecureBroker, scram_login

MECHS = ["SCRAM-SHA-256", "SCRAM-SHA-512"]


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--logins", type=int, default=200)
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="perf-scram-"))
    b = SecureBroker({"SASL_PLAINTEXT": "SASL_PLAINTEXT"}, workdir=work / "broker", name="strata-perf-scram",
                     overrides={"connection.failed.authentication.delay.ms": 0, **overrides_of(args)})
    results = []
    try:
        b.start()
        addr = b.addr("SASL_PLAINTEXT")
        for mech in MECHS:
            c = RawSasl(addr)  # warm-up (and the salted password into the client's cache)
            assert scram_login(c, mech, ADMIN_USER, ADMIN_PASSWORD) == (0, None)
            c.close()
            times = []
            for _ in range(args.logins):
                t0 = time.perf_counter()
                c = RawSasl(addr)
                err = scram_login(c, mech, ADMIN_USER, ADMIN_PASSWORD)
                times.append((time.perf_counter() - t0) * 1000)
                c.close()
                assert err == (0, None), err
            times.sort()
            results.append(Result("scram_login", "strata", {"mechanism": mech, "logins": args.logins}, {
                "p50_ms": percentile(times, 0.5), "p99_ms": percentile(times, 0.99), "max_ms": times[-1]}))
    finally:
        b.cleanup()
    print_table(results)


if __name__ == "__main__":
    main()
