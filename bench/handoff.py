"""What the hand-off of one message to Celery costs the web request, in-process.

    python -m bench.handoff [--n 1000]

Starts a Redis of its own on a free port (as `make bench` does), points CELERY_BROKER_URL at it
and times `deliver_notification.apply_async` (what `hand_off` calls after each booking's commit):
CPU of the calling thread (`time.thread_time`) and wall time per call, best of 3 rounds. No
database is touched (the task is only published; nothing consumes it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    from bench.scale import start_redis

    workdir = Path(tempfile.mkdtemp(prefix="spin-handoff-"))
    redis = start_redis(workdir)
    try:
        os.environ["CELERY_BROKER_URL"] = f"redis://127.0.0.1:{redis.port}/0"
        os.environ.setdefault("DEBUG", "1")
        from bench import djangoenv

        djangoenv.setup()
        import spinning.celery  # noqa: F401 - the app, configured from settings
        from members_app.tasks import deliver_notification

        def publish() -> None:
            deliver_notification.apply_async(args=[str(uuid.uuid4())], retry=False)

        for _ in range(50):
            publish()
        rounds = []
        for _ in range(3):
            cpu, wall = time.thread_time(), time.perf_counter()
            for _ in range(args.n):
                publish()
            rounds.append(((time.thread_time() - cpu) / args.n * 1000, (time.perf_counter() - wall) / args.n * 1000))
        print(f"apply_async: {min(r[0] for r in rounds):.3f} ms CPU, {min(r[1] for r in rounds):.3f} ms wall per call")
    finally:
        redis.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
