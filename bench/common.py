"""Shared pieces of the harness: databases, the gunicorn server, wrk, small statistics.

The harness process itself does not load Django: seeding, preparing a run and checking the
result run in `python -m bench.<module>` subprocesses pointed at one database by DATABASE_URL,
so one process never mixes two databases.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
OUT = BENCH / "out"
LUA = BENCH / "lua"
PYTHON = sys.executable
PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
# Databases this harness may create or drop; anything else is refused (other people's data).
OWN_DATABASE_PREFIXES = ("spin_bench", "spin_faults")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- databases -------------------------------------------------------------------------------
def database_url(name: str) -> str:
    return f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def _own(name: str) -> str:
    if not name.startswith(OWN_DATABASE_PREFIXES) or not name.replace("_", "").isalnum():
        raise SystemExit(f"refusing to touch database {name!r}: not one of the harness's own")
    return name


@contextmanager
def admin_connection():
    conn = psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True)
    try:
        yield conn
    finally:
        conn.close()


def database_exists(name: str) -> bool:
    with admin_connection() as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def drop_database(name: str) -> None:
    _own(name)
    with admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_database(name: str, template: str | None = None) -> None:
    _own(name)
    with admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if template:
            _own(template)
            # FILE_COPY: a copy of a few hundred MB in seconds, without writing it all to the WAL.
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        else:
            conn.execute(f'CREATE DATABASE "{name}"')


def read_fingerprint(name: str) -> str | None:
    if not database_exists(name):
        return None
    try:
        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=name, autocommit=True) as conn:
            row = conn.execute("SELECT value FROM bench_meta WHERE key = 'fingerprint'").fetchone()
    except psycopg.Error:
        return None
    return row[0] if row else None


def fingerprint(sizes: dict) -> str:
    """Seeded data depends on the sizes, the seed code and every migration of the project."""
    digest = hashlib.sha256(json.dumps(sizes, sort_keys=True).encode())
    files = sorted(REPO.glob("*_app/migrations/*.py")) + [BENCH / "seed.py"]
    for path in files:
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def server_env(database: str, **extra: str) -> dict[str, str]:
    """Production settings (DEBUG off, a real key, fixed hosts), throttles out of the way."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "DEBUG", "SPINNING_ALLOW_DEV_SECRET", "FAST_PASSWORD_HASHER"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="spinning.settings",
        DEBUG="0",
        SECRET_KEY="bench-" + secrets.token_urlsafe(48),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_COOKIES="1",
        SECURE_SSL_REDIRECT="0",
        DATABASE_URL=database_url(database),
        THROTTLE_LOGIN_FAILURES="1000000/min",
        THROTTLE_REGISTRATION="1000000/min",
        THROTTLE_PASSWORD_RESET="1000000/min",
        THROTTLE_COUPON_LOOKUP="1000000/min",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def run_django(module_or_args: list[str], database: str, *, timeout: float = 1800, check: bool = True, **extra):
    """Run `python <args>` in the repo with Django pointed at `database`; returns CompletedProcess."""
    env = server_env(database, FAST_PASSWORD_HASHER="1", **extra)
    return subprocess.run(
        [PYTHON, *module_or_args],
        cwd=REPO,
        env=env,
        timeout=timeout,
        check=check,
        text=True,
        capture_output=True,
    )


def run_json(module: str, database: str, *args: str, timeout: float = 1800, **extra) -> dict:
    """Run `python -m <module>` that prints one JSON object on its last line."""
    proc = run_django(["-m", module, *args], database, timeout=timeout, check=False, **extra)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-8000:])
        raise SystemExit(f"{module} failed (exit {proc.returncode})")
    if proc.stderr.strip():
        (OUT / f"{module.rsplit('.', 1)[-1]}.stderr.log").write_text(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ensure_base_database(base: str, sizes: dict, *, reseed: bool, seed_args: list[str]) -> float:
    """Seed `base` unless it already holds exactly this seed (fingerprint); returns seconds spent."""
    wanted = fingerprint(sizes)
    have = read_fingerprint(base)
    if have == wanted and not reseed:
        log(f"reusing seeded database {base} (fingerprint {wanted})")
        return 0.0
    log(f"seeding {base}: fingerprint {have or '-'} -> {wanted} ({'forced' if reseed else 'changed'})")
    started = time.monotonic()
    create_database(base)
    proc = run_django(["manage.py", "migrate", "--noinput"], base, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-6000:])
        raise SystemExit("migrate failed")
    result = run_json("bench.seed", base, *seed_args, "--fingerprint", wanted)
    spent = time.monotonic() - started
    log(f"seeded in {spent:.0f} s: {result}")
    return spent


# --- the server ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    database: str
    workers: int = 5
    worker_class: str = "sync"
    threads: int = 1
    # BENCH_PORT: a fixed port (a shared machine hands each person a range); else any free one
    port: int = field(default_factory=lambda: int(os.environ.get("BENCH_PORT") or 0) or free_port())
    process: subprocess.Popen | None = None
    env_extra: dict = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def describe(self) -> str:
        threads = f" x {self.threads} threads" if self.worker_class == "gthread" else ""
        return f"gunicorn {self.workers} {self.worker_class} workers{threads} on 127.0.0.1:{self.port}"

    def start(self, timeout: float = 40) -> None:
        OUT.mkdir(parents=True, exist_ok=True)
        gunicorn = shutil.which("gunicorn", path=str(Path(PYTHON).parent)) or "gunicorn"
        args = [
            gunicorn,
            "spinning.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--threads",
            str(self.threads),
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
            "--backlog",
            "2048",
            "--error-logfile",
            str(OUT / f"gunicorn-{self.database}.log"),
            "--log-level",
            "warning",
        ]
        self.log_path = OUT / f"gunicorn-{self.database}.out"
        with self.log_path.open("ab") as sink:
            self.process = subprocess.Popen(
                args,
                cwd=REPO,
                env=server_env(self.database, **self.env_extra),
                start_new_session=True,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}; see {OUT}/gunicorn-*.log")
            if http_status(self.base_url + "/api/health", timeout=1) == 200:
                return
            time.sleep(0.3)
        raise SystemExit("gunicorn did not answer /api/health in time")

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        except OSError:
            return []
        return [int(pid) for pid in children]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group this harness started
            self.process.wait(timeout=5)


def process_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of live processes (from /proc/<pid>/stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, for the share of CPU in use during a phase."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def http_status(url: str, timeout: float = 2) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


# --- wrk -------------------------------------------------------------------------------------
def ensure_wrk() -> str:
    """wrk comes from Debian (package `wrk`); install it when missing (we run as root)."""
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk not found: installing the Debian package")
    install = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=300", "update", "-q"], capture_output=True)
        subprocess.run(install, check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed (apt-get install -y wrk)")
    return found


def lua_script(name: str, **globals_: object) -> Path:
    """bench/lua/stats.lua + bench/lua/<name>.lua with the given globals, written to bench/out."""

    def lua_value(value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return repr(value)
        return json.dumps(str(value))

    header = "".join(f"{key} = {lua_value(value)}\n" for key, value in globals_.items())
    text = header + (LUA / "stats.lua").read_text() + (LUA / f"{name}.lua").read_text()
    path = OUT / f"{name}.lua"
    path.write_text(text)
    return path


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    latency_ms: dict
    statuses: dict
    socket_errors: dict
    wrk_cpu_seconds: float
    wrk_cpu_share: float  # of one core, over the run
    server_cpu_share: float  # gunicorn workers, in cores
    machine_busy_share: float  # of all cores

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def run_wrk(
    wrk: str,
    url: str,
    script: Path,
    *,
    connections: int,
    seconds: int,
    threads: int = 2,
    server: Server | None = None,
) -> WrkResult:
    args = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), url]
    server_pids = server.worker_pids() if server else []
    server_before = process_cpu_seconds(server_pids)
    busy_before, total_before = machine_cpu()
    _children_cpu_delta()  # forget the children reaped before this wrk
    started = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate(timeout=seconds + 60)
    wall = time.monotonic() - started
    busy_after, total_after = machine_cpu()
    server_after = process_cpu_seconds(server_pids)
    line = next((ln for ln in stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result:\n{stdout}\n{stderr}")
    data = json.loads(line[len("BENCH_JSON ") :])
    cpu = _children_cpu_delta()
    seconds_run = data["duration_us"] / 1e6
    lat = {key: round(value / 1000, 2) for key, value in data["latency_us"].items()}
    cores = os.cpu_count() or 1
    return WrkResult(
        requests=data["requests"],
        seconds=round(seconds_run, 2),
        rps=round(data["requests"] / seconds_run, 1) if seconds_run else 0.0,
        latency_ms=lat,
        statuses=dict(sorted(data["statuses"].items())),
        socket_errors={k: v for k, v in data["errors"].items() if v},
        wrk_cpu_seconds=round(cpu, 2),
        wrk_cpu_share=round(cpu / wall, 3) if wall else 0.0,
        server_cpu_share=round((server_after - server_before) / wall, 2) if wall else 0.0,
        machine_busy_share=round((busy_after - busy_before) / max(1, total_after - total_before), 3) if cores else 0.0,
    )


_children_cpu_seen = 0.0


def _children_cpu_delta() -> float:
    """CPU seconds used by reaped children since the last call (here: the wrk just finished)."""
    import resource

    global _children_cpu_seen
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    now = usage.ru_utime + usage.ru_stime
    delta = now - _children_cpu_seen
    _children_cpu_seen = now
    return delta


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]
