"""A transactional librdkafka producer loop in its own process, for test_transactions.py.

    python txn_producer_proc.py BOOTSTRAP TOPIC TRANSACTIONAL_ID PARTITIONS SECONDS

Transaction n writes K = 3 + n % 7 records "txn<n>:<i>/<K>" (i = 0..K-1) spread over the
partitions, then commits it, except every 5th transaction, which it aborts. It prints one
line per step, flushed at once, so that the test knows what the producer saw even when the
broker or this process is killed:

    begin <n> <K>      the records of transaction n are being produced
    committing <n>     commit_transaction() called (undecided until the next line)
    committed <n>      commit_transaction() returned: the broker acknowledged the commit
    aborted <n>        abort_transaction() returned
    error <n> <text>   the transaction failed; the loop stops (after a fatal error) or aborts
                       and goes on (an abortable one)

It stops by itself after SECONDS.
"""

from __future__ import annotations

import sys
import time

from confluent_kafka import KafkaException, Producer


def say(*words) -> None:
    sys.stdout.write(" ".join(str(w) for w in words) + "\n")
    sys.stdout.flush()


def main() -> int:
    bootstrap, topic, txn_id, partitions, seconds = sys.argv[1:6]
    partitions, seconds = int(partitions), float(seconds)
    p = Producer({
        "bootstrap.servers": bootstrap,
        "transactional.id": txn_id,
        "transaction.timeout.ms": 10000,
        "linger.ms": 1,
        "message.timeout.ms": 10000,
        "socket.timeout.ms": 5000,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
    })
    p.init_transactions(30)
    say("ready")
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        k = 3 + n % 7
        try:
            p.begin_transaction()
            say("begin", n, k)
            for i in range(k):
                p.produce(topic, value=b"txn%d:%d/%d" % (n, i, k), key=b"txn%d" % n, partition=(n + i) % partitions)
            # leave the transaction open a moment with its records sent (linger.ms=1), so
            # that a kill often finds records in the log that no marker has decided yet
            p.poll(0)
            time.sleep(0.02)
            if n % 5 == 4:
                p.abort_transaction(30)
                say("aborted", n)
            else:
                say("committing", n)
                p.commit_transaction(30)
                say("committed", n)
        except KafkaException as e:
            err = e.args[0]
            say("error", n, str(err).replace("\n", " "))
            if err.fatal():
                return 3
            if err.txn_requires_abort():
                try:
                    p.abort_transaction(30)
                    say("aborted", n)
                except KafkaException as e2:
                    say("error", n, "abort failed:", str(e2.args[0]).replace("\n", " "))
                    return 4
            else:
                return 5
        n += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
