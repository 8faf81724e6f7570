"""Python HTTP clients for the scenarios where each answer matters (rush, faults)."""

from __future__ import annotations

import http.client
import json
import socket
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
        return _judged(status, raw, started, time.monotonic())


def _judged(status: int, raw: bytes, started: float, finished: float) -> Answer:
    """The answer with its body parsed: an error must carry the API's shape (`code`, `detail`)."""
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    body = data if isinstance(data, dict) else None
    if status >= 400:
        ok = body is not None and "code" in body and "detail" in body
        return Answer(status, body.get("code") if body else None, ok, started, finished, body=body)
    return Answer(status, "-", data is not None, started, finished, body=body)


def rush(port: int, session_id: str, clients: list[dict], *, timeout: float = 60) -> dict:
    """Release len(clients) riders at once (a Barrier) at one session, each asking for one bike.

    Every client opens its connection and builds its request's bytes before the barrier; after
    it, a rider only sends them and reads the answer to its end (the server closes: sync workers
    keep no connection alive). Answers are parsed after every rider has its answer: like wrk, the
    load generator spends as little of the two cores as it can while it is timed (its CPU is
    reported: `client_cpu_ms`)."""
    n = len(clients)
    barrier = threading.Barrier(n + 1, timeout=timeout)
    raw: list[tuple[float, float, bytes | None, str | None] | None] = [None] * n
    release = {"t": 0.0}

    def request_bytes(k: int) -> bytes:
        body = json.dumps({"session_id": session_id, "seat_id": clients[k]["seat_id"]}).encode()
        head = (
            f"POST /api/bookings HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {clients[k]['token']}\r\nIdempotency-Key: rush-{k}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        return head.encode() + body

    def rider(k: int) -> None:
        payload = request_bytes(k)
        sock = None
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        except OSError:
            pass
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        started = time.monotonic()
        try:
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
            sock.sendall(payload)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
            raw[k] = (started, time.monotonic(), b"".join(chunks), None)
        except OSError as exc:
            raw[k] = (started, time.monotonic(), None, type(exc).__name__)
        finally:
            if sock is not None:
                sock.close()

    threads = [threading.Thread(target=rider, args=(k,), daemon=True) for k in range(n)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    cpu_before = time.process_time()
    release["t"] = time.monotonic()
    barrier.wait()
    for thread in threads:
        thread.join(timeout=timeout)
    client_cpu = time.process_time() - cpu_before
    answers = [_answer(item) if item is not None else None for item in raw]
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
        "client_cpu_ms": round(client_cpu * 1000, 1),
    }


def _answer(item: tuple[float, float, bytes | None, str | None]) -> Answer:
    """An `Answer` from a raw HTTP/1.1 response read to its end (parsed after the timing)."""
    started, finished, data, error = item
    if data is None or not data.startswith(b"HTTP/1."):
        return Answer(None, None, False, started, finished, error=error or "no answer")
    status = int(data[9:12])
    head, _, body = data.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = _unchunk(body)
    return _judged(status, body, started, finished)


def _unchunk(body: bytes) -> bytes:
    out, rest = [], body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2 :]
    return b"".join(out)
