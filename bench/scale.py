"""`make bench BENCH_ARGS="--scale 2 [--pgbouncer]"`: two app servers behind HAProxy (docs/SCALING.md).

Two gunicorn instances (the same release, the same SECRET_KEY, `NUM_PROXIES=1`) behind HAProxy
on 127.0.0.1, sharing PostgreSQL and a Redis started for the run (`REDIS_URL`), optionally with
PgBouncer in transaction mode between them and PostgreSQL. It shows:

- the same Idempotency-Key sent to both instances at the same moment books once (both answers
  carry the one booking's id; one live booking in the database);
- the login-failure throttle is shared: failures through the proxy land on both instances, and
  the count is one count (429 from either once it is full);
- the throughput of two instances against one, through the same proxy (wrk: health, booking,
  the week's timetable).

Every process it starts (redis-server, haproxy, pgbouncer, gunicorn) is its own child, on a free
port of 127.0.0.1, stopped at the end.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from bench import clients, common
from bench.common import OUT, PG_HOST, PG_PORT, PG_USER, Server, free_port, log
from bench.faults import lock_drill

LOGIN_FAILURES_LIMIT = 5  # per minute, for this run only (the other phases lift it out of the way)


def ensure_package(binary: str, package: str) -> str:
    """A Debian package's program, installed with apt-get when missing (the harness runs as root)."""
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")
    if found:
        return found
    log(f"{binary} not found: installing the Debian package {package}")
    install = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-q", package]
    if subprocess.run(install, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=300", "update", "-q"], capture_output=True)
        subprocess.run(install, check=True, capture_output=True)
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")
    if not found:
        raise SystemExit(f"{binary} could not be installed (apt-get install -y {package})")
    return found


class Child:
    """A helper process of the run (redis, haproxy, pgbouncer), in its own process group."""

    def __init__(self, name: str, args: list[str], port: int):
        self.name, self.args, self.port = name, args, port
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 10) -> None:
        sink = (OUT / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(self.args, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited with {self.process.returncode}; see {OUT}/{self.name}.log")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"{self.name} did not listen on {self.port}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_redis(workdir: Path) -> Child:
    port = free_port()
    redis = Child(
        "redis",
        [
            ensure_package("redis-server", "redis-server"),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],  # fmt: skip
        port,
    )
    redis.start()
    return redis


def start_haproxy(workdir: Path, backends: list[int], port: int, workers: int) -> Child:
    """Round robin over the instances, keep-alive to them, the instance named in `X-Served-By`.

    Each instance gets at most as many requests at once as it has sync workers (`maxconn`): the
    rest wait in HAProxy's queue, not in gunicorn's backlog, so a health check is answered after
    one request, not after the whole backlog (a lone instance marked down by a starved check
    turns every request into HAProxy's 503)."""
    servers = "\n".join(
        f"    server app{i + 1} 127.0.0.1:{p} maxconn {workers} check inter 2s fall 5 rise 2"
        for i, p in enumerate(backends)
    )
    config = workdir / f"haproxy-{len(backends)}.cfg"
    config.write_text(
        f"""global
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout queue 30s
    timeout check 10s
    option http-keep-alive
    http-reuse always
frontend bench
    bind 127.0.0.1:{port}
    option forwardfor
    default_backend app
backend app
    balance roundrobin
    option httpchk GET /api/health
    http-response set-header X-Served-By %s
{servers}
"""
    )
    proxy = Child("haproxy", [ensure_package("haproxy", "haproxy"), "-db", "-f", str(config)], port)
    proxy.start()
    time.sleep(1.5)  # the first health checks mark the servers up
    return proxy


def start_pgbouncer(workdir: Path, database: str, pool_size: int) -> Child:
    """Transaction pooling in front of PostgreSQL; run as the postgres user (it refuses root)."""
    port = free_port()
    (workdir / "userlist.txt").write_text(f'"{PG_USER}" ""\n')
    ini = workdir / "pgbouncer.ini"
    ini.write_text(
        f"""[databases]
{database} = host={PG_HOST} port={PG_PORT} dbname={database}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {workdir / "userlist.txt"}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 1000
server_reset_query =
ignore_startup_parameters = extra_float_digits
"""
    )
    for path in (workdir, ini, workdir / "userlist.txt"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    bouncer = Child("pgbouncer", [ensure_package("pgbouncer", "pgbouncer"), "-u", "postgres", str(ini)], port)
    bouncer.start()
    return bouncer


def server_side_timeouts(database: str) -> None:
    """Behind PgBouncer the app sends no startup options: the database carries the timeouts."""
    common._own(database)
    with common.admin_connection() as conn:
        conn.execute(f"ALTER DATABASE \"{database}\" SET lock_timeout = '3000ms'")
        conn.execute(f"ALTER DATABASE \"{database}\" SET statement_timeout = '30000ms'")


def show_setting(port: int, database: str, name: str) -> str:
    with psycopg.connect(host="127.0.0.1", port=port, user=PG_USER, dbname=database, prepare_threshold=None) as conn:
        return conn.execute(f"SHOW {name}").fetchone()[0]


class ServerGroup:
    """The instances as one thing to measure (run_wrk reads the workers' CPU)."""

    def __init__(self, servers: list[Server]):
        self.servers = servers

    def worker_pids(self) -> list[int]:
        return [pid for server in self.servers for pid in server.worker_pids()]


# --- the checks ------------------------------------------------------------------------------
def _send_together(ports: list[int], token: str, session_id: str, key: str) -> list:
    """One booking request to each instance, released at the same moment, one Idempotency-Key."""
    barrier = threading.Barrier(len(ports))
    answers: list = [None] * len(ports)

    def send(i: int, port: int) -> None:
        client = clients.Client(port)
        client.connect()
        barrier.wait()
        answers[i] = client.request(
            "POST", "/api/bookings", token=token, body={"session_id": session_id}, headers={"Idempotency-Key": key}
        )
        client.close()

    threads = [threading.Thread(target=send, args=(i, port)) for i, port in enumerate(ports)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def same_key_on_both(ports: list[int], pairs: list[tuple[str, str]], database: str) -> dict:
    """Each pair's booking sent to instance 1 and instance 2 at the same moment, one key."""
    results = []
    for n, (token, session_id) in enumerate(pairs):
        answers = _send_together(ports, token, session_id, f"scale-{int(time.time())}-{n}")
        ids = {a.body.get("id") for a in answers if a and a.status == 201 and a.body}
        results.append({"statuses": [a.status if a else None for a in answers], "ids": sorted(i for i in ids if i)})
    booking_ids = [r["ids"][0] for r in results if len(r["ids"]) == 1]
    with psycopg.connect(common.database_url(database)) as conn:
        live = conn.execute(
            """SELECT count(*) FROM bookings_app_booking b
               JOIN bookings_app_booking first ON first.session_id = b.session_id AND first.member_id = b.member_id
               WHERE first.id = ANY(%s::uuid[]) AND b.status = 'CONFIRMED'""",
            [booking_ids],
        ).fetchone()[0]
    return {
        "pairs": len(pairs),
        "both_201": sum(1 for r in results if r["statuses"] == [201] * len(ports)),
        "one_booking_id": sum(1 for r in results if len(r["ids"]) == 1),
        "live_bookings_for_those_pairs": live,
        "ok": all(len(r["ids"]) == 1 for r in results) and live == len(pairs),
        "statuses": [r["statuses"] for r in results],
    }


def shared_login_throttle(proxy_port: int, attempts: int = 12) -> dict:
    """Wrong passwords through the proxy (round robin): the count is the cache's, not a process's."""
    client = clients.Client(proxy_port)
    trail = []
    for _ in range(attempts):
        client.close()  # a new connection each time: HAProxy's round robin moves to the next server
        client.connect()
        client.conn.request(
            "POST",
            "/api/auth/token",
            body=json.dumps({"email": "nobody@bench.invalid", "password": "wrong-password"}),
            headers={"Content-Type": "application/json"},
        )
        response = client.conn.getresponse()
        body = json.loads(response.read() or b"{}")
        trail.append({"status": response.status, "code": body.get("code"), "server": response.getheader("X-Served-By")})
    client.close()
    refused = [t for t in trail if t["status"] == 429]
    return {
        "limit_per_minute": LOGIN_FAILURES_LIMIT,
        "trail": trail,
        "servers_seen": sorted({t["server"] for t in trail if t["server"]}),
        "failures_before_429": next((i for i, t in enumerate(trail) if t["status"] == 429), None),
        "429_from_servers": sorted({t["server"] for t in refused if t["server"]}),
        "ok": [t["status"] for t in trail[:LOGIN_FAILURES_LIMIT]] == [400] * LOGIN_FAILURES_LIMIT
        and all(t["status"] == 429 for t in trail[LOGIN_FAILURES_LIMIT:])
        and len({t["server"] for t in refused}) >= 2,
    }


def split_pairs(pairs_file: str, parts: int, keep_last: int) -> tuple[list[Path], list[tuple[str, str]]]:
    """Separate pair files per throughput run (no pair booked twice) and a few pairs for the key check."""
    lines = Path(pairs_file).read_text().splitlines()
    reserved = [tuple(line.split("\t")) for line in lines[-keep_last:]]
    body = lines[:-keep_last]
    size = len(body) // parts
    paths = []
    for k in range(parts):
        path = OUT / f"pairs-scale-{k}.tsv"
        path.write_text("\n".join(body[k * size : (k + 1) * size]) + "\n")
        paths.append(path)
    return paths, reserved


def throughput(wrk: str, proxy_port: int, group: ServerGroup, args, prepared: dict, pairs: Path, run_id: str) -> dict:
    url = f"http://127.0.0.1:{proxy_port}"
    wrk_args = {"connections": args.connections, "seconds": args.duration, "threads": args.wrk_threads}
    common.run_wrk(wrk, url, common.lua_script("health", NTHREADS=args.wrk_threads), **{**wrk_args, "seconds": 2})
    out = {}
    out["health"] = common.run_wrk(
        wrk, url, common.lua_script("health", NTHREADS=args.wrk_threads), server=group, **wrk_args
    ).as_dict()
    out["booking"] = common.run_wrk(
        wrk,
        url,
        common.lua_script("booking", NTHREADS=args.wrk_threads, PAIRS_FILE=str(pairs), RUN_ID=run_id),
        server=group,
        **wrk_args,
    ).as_dict()
    out["session_list"] = common.run_wrk(
        wrk,
        url,
        common.lua_script(
            "sessions", NTHREADS=args.wrk_threads, TOKENS_FILE=prepared["tokens_file"], LIST_PATH=prepared["list_path"]
        ),
        server=group,
        **wrk_args,
    ).as_dict()
    for phase in out.values():
        phase["server_cpu_ms_per_request"] = (
            round(phase["server_cpu_share"] / phase["rps"] * 1000, 2) if phase["rps"] else None
        )
    return out


def run(args, run_db: str, prepared: dict, wrk: str) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="spin-scale-"))
    started: list = []
    result: dict = {"instances": args.scale, "pgbouncer": args.pgbouncer, "workers_per_instance": args.workers}
    try:
        redis = start_redis(workdir)
        started.append(redis)
        env = {
            "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
            "NUM_PROXIES": "1",
            "THROTTLE_LOGIN_FAILURES": f"{LOGIN_FAILURES_LIMIT}/min",
            "SECRET_KEY": "bench-" + secrets.token_urlsafe(48),  # one key for every instance
        }
        if args.pgbouncer:
            server_side_timeouts(run_db)
            bouncer = start_pgbouncer(workdir, run_db, args.pgbouncer_pool)
            started.append(bouncer)
            env.update(DATABASE_URL=f"postgres://{PG_USER}@127.0.0.1:{bouncer.port}/{run_db}", PGBOUNCER="1")
            result["pgbouncer_pool"] = args.pgbouncer_pool
            result["lock_timeout_through_pgbouncer"] = show_setting(bouncer.port, run_db, "lock_timeout")
            result["statement_timeout_through_pgbouncer"] = show_setting(bouncer.port, run_db, "statement_timeout")
        servers = [
            Server(run_db, workers=args.workers, worker_class=args.worker_class, threads=args.threads,
                   port=free_port(), env_extra=env)
            for _ in range(args.scale)
        ]  # fmt: skip
        for server in servers:
            started.append(server)
            server.start()
        log(f"started {args.scale} x {servers[0].describe()}; redis :{redis.port}")
        ports = [s.port for s in servers]
        pair_files, reserved = split_pairs(prepared["pairs_file"], 3, keep_last=21)
        reserved, drill_pair = reserved[:-1], reserved[-1]

        log("the same Idempotency-Key to every instance at once ...")
        result["idempotency"] = same_key_on_both(ports, reserved, run_db)
        proxy_port = free_port()
        proxy = start_haproxy(workdir, ports, proxy_port, args.workers)
        started.append(proxy)
        log("login failures through the proxy ...")
        result["throttle"] = shared_login_throttle(proxy_port)
        if args.pgbouncer:
            log("a held session row, booked through PgBouncer ...")
            token, session_id = drill_pair
            result["lock_drill"] = lock_drill(
                ports[0], run_db, what="session", token=token, session_id=session_id, lock_timeout_s=3.0
            )

        run_id = f"s{int(time.time())}"
        # warm both instances' workers and the fresh copy's buffers on the booking path first
        warm = common.lua_script(
            "booking", NTHREADS=args.wrk_threads, PAIRS_FILE=str(pair_files[2]), RUN_ID=run_id + "w"
        )
        common.run_wrk(wrk, f"http://127.0.0.1:{proxy_port}", warm, connections=args.connections, seconds=3)
        log(f"throughput, {args.scale} instances behind HAProxy ...")
        result["throughput_all"] = throughput(
            wrk, proxy_port, ServerGroup(servers), args, prepared, pair_files[0], run_id
        )
        proxy.stop()
        proxy = start_haproxy(workdir, ports[:1], proxy_port, args.workers)
        started.append(proxy)
        log("throughput, 1 instance behind HAProxy ...")
        result["throughput_one"] = throughput(
            wrk, proxy_port, ServerGroup(servers[:1]), args, prepared, pair_files[1], run_id + "b"
        )
    finally:
        for child in reversed(started):
            child.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        if args.pgbouncer:
            with common.admin_connection() as conn:
                conn.execute(f'ALTER DATABASE "{common._own(run_db)}" RESET ALL')
    return result


def render(result: dict) -> str:
    lines = [
        "",
        f"scale: {result['instances']} gunicorn instances x {result['workers_per_instance']} workers behind HAProxy, "
        f"one Redis{', PgBouncer (transaction mode, pool ' + str(result['pgbouncer_pool']) + ')' if result['pgbouncer'] else ''}",
    ]
    if result.get("pgbouncer"):
        lines.append(
            f"  through PgBouncer: lock_timeout {result['lock_timeout_through_pgbouncer']}, "
            f"statement_timeout {result['statement_timeout_through_pgbouncer']} (set on the database)"
        )
        drill = result.get("lock_drill", {})
        lines.append(
            f"  session row held FOR UPDATE: booking answered {drill.get('status')} {drill.get('code')} after "
            f"{drill.get('seconds')} s; after release {drill.get('retry_after_release')}"
        )
    idem = result.get("idempotency", {})
    lines.append(
        f"  same Idempotency-Key to both at once: {idem.get('pairs')} pairs, both answered 201 {idem.get('both_201')}, "
        f"one booking id {idem.get('one_booking_id')}, live bookings {idem.get('live_bookings_for_those_pairs')} "
        f"-> {'ok' if idem.get('ok') else 'FAILED'}"
    )
    thr = result.get("throttle", {})
    lines.append(
        f"  login failures through the proxy (limit {thr.get('limit_per_minute')}/min): served by {thr.get('servers_seen')}, "
        f"first 429 after {thr.get('failures_before_429')} failures, 429 from {thr.get('429_from_servers')} "
        f"-> {'ok' if thr.get('ok') else 'FAILED'}"
    )
    lines.append(f"  {'phase':<14}{'1 inst rps':>11}{'2 inst rps':>11}{'ratio':>7}{'cpu ms/r 1':>11}{'cpu ms/r 2':>11}")
    one, two = result.get("throughput_one", {}), result.get("throughput_all", {})
    for name in ("health", "booking", "session_list"):
        a, b = one.get(name), two.get(name)
        if not a or not b:
            continue
        lines.append(
            f"  {name:<14}{a['rps']:>11.1f}{b['rps']:>11.1f}{b['rps'] / a['rps'] if a['rps'] else 0:>7.2f}"
            f"{a['server_cpu_ms_per_request'] or 0:>11.2f}{b['server_cpu_ms_per_request'] or 0:>11.2f}"
            f"  {' '.join(f'{k}={v}' for k, v in b['statuses'].items())}"
        )
    return "\n".join(lines)


def ok(result: dict) -> bool:
    five_xx = sum(
        n
        for run in ("throughput_one", "throughput_all")
        for phase in result.get(run, {}).values()
        for key, n in phase["statuses"].items()
        if key.startswith("5")
    )
    result["count_5xx"] = five_xx
    drill_ok = result.get("lock_drill", {}).get("bounded", True)
    return bool(
        result.get("idempotency", {}).get("ok") and result.get("throttle", {}).get("ok") and drill_ok and not five_xx
    )
