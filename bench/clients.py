"""Python HTTP clients for the scenarios where each answer matters (rush, faults)."""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass


@dataclass
class Answer:
    status: int | None  # None: no HTTP answer at all (connection reset, refused, timed out)
    code: str | None  # the error body's "code", or "-" for a success
    json_ok: bool  # body parsed as JSON (with "code" and "detail" when status >= 400)
    started: float
    finished: float
    error: str | None = None
    body: dict | None = None

    @property
    def latency(self) -> float:
        return self.finished - self.started


class Client:
    """One keep-alive connection to 127.0.0.1; reconnects after a failure."""

    def __init__(self, port: int, timeout: float = 15):
        self.port = port
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def connect(self) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        self.conn.connect()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method: str, path: str, *, token: str | None = None, body=None, headers=None) -> Answer:
        send_headers = {"Content-Type": "application/json", **(headers or {})}
        if token:
            send_headers["Authorization"] = f"Bearer {token}"
        payload = json.dumps(body) if body is not None else None
        started = time.monotonic()
        try:
            if self.conn is None:
                self.connect()
            self.conn.request(method, path, body=payload, headers=send_headers)
            response = self.conn.getresponse()
            raw = response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                self.close()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return Answer(None, None, False, started, time.monotonic(), error=type(exc).__name__)
        finished = time.monotonic()
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if status >= 400:
            ok = isinstance(data, dict) and "code" in data and "detail" in data
            code = data.get("code") if isinstance(data, dict) else None
            return Answer(status, code, ok, started, finished, body=data if isinstance(data, dict) else None)
        return Answer(status, "-", data is not None, started, finished, body=data if isinstance(data, dict) else None)


def rush(port: int, session_id: str, clients: list[dict], *, timeout: float = 60) -> dict:
    """Release len(clients) riders at once (a Barrier) at one session, each asking for one bike.

    Every client opens its connection before the barrier, so what is timed is the booking.
    """
    n = len(clients)
    barrier = threading.Barrier(n + 1, timeout=timeout)
    answers: list[Answer | None] = [None] * n
    release = {"t": 0.0}

    def rider(k: int) -> None:
        client = Client(port, timeout=timeout)
        try:
            client.connect()
        except OSError:
            pass
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        answers[k] = client.request(
            "POST",
            "/api/bookings",
            token=clients[k]["token"],
            body={"session_id": session_id, "seat_id": clients[k]["seat_id"]},
            headers={"Idempotency-Key": f"rush-{k}"},
        )
        client.close()

    threads = [threading.Thread(target=rider, args=(k,), daemon=True) for k in range(n)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    release["t"] = time.monotonic()
    barrier.wait()
    for thread in threads:
        thread.join(timeout=timeout)
    got = [a for a in answers if a is not None]
    wins = [a for a in got if a.status == 201]
    latencies = sorted(a.finished - release["t"] for a in got)
    codes: dict[str, int] = {}
    for a in got:
        key = str(a.status) if a.status == 201 else f"{a.status}:{a.code or a.error}"
        codes[key] = codes.get(key, 0) + 1
    seat_of_win = [a.body.get("seat", {}).get("id") if a.body and a.body.get("seat") else None for a in wins]

    def pct(p: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, round(p / 100 * (len(latencies) - 1)))]

    return {
        "clients": n,
        "answered": len(got),
        "successes": len(wins),
        "distinct_bikes_won": len({s for s in seat_of_win if s}),
        "sold_out_after_ms": round(max((a.finished - release["t"]) for a in wins) * 1000, 1) if wins else None,
        "all_answered_after_ms": round(latencies[-1] * 1000, 1) if latencies else None,
        "latency_ms": {
            "p50": round(pct(50) * 1000, 1),
            "p95": round(pct(95) * 1000, 1),
            "p99": round(pct(99) * 1000, 1),
        },
        "statuses": dict(sorted(codes.items())),
        "error_bodies_ok": all(a.json_ok for a in got if a.status and a.status >= 400),
    }
