"""The `crowdray` command: serve, demo, and every Django management command."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading

from crowdray.datadir import prepare as prepare_data_dir
from crowdray.logs import configure as configure_logging

log = logging.getLogger("crowdray.serve")


def _serve_argv(bind: str, workers: int) -> list[str]:
    # gunicorn manages the processes; each runs an event loop (crowdray/asgi.py),
    # so a slow client holds no thread.
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "crowdray.asgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--worker-class",
        "crowdray.worker.Worker",
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "10",
    ]


def serve(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="crowdray serve", description="Run the API and pages.")
    parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port (default %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per worker that run Django (default 4)"
    )
    parser.add_argument(
        "--follow",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run the follower in this process (default: on with SQLite, which only one process "
        "should write, off with PostgreSQL, where `crowdray follow` runs as its own process)",
    )
    args = parser.parse_args(argv)
    if args.workers < 1 or args.threads < 1:
        parser.error("--workers and --threads must be at least 1")
    gunicorn = _serve_argv(args.bind, args.workers)
    os.environ["CROWDRAY_THREADS"] = str(args.threads)
    _metrics_dir()
    configure_logging()
    follow = follower_here(args.follow)
    if not follow:
        # gunicorn takes over this process so Ctrl-C and signals reach it directly.
        os.execv(sys.executable, gunicorn)  # noqa: S606
    serve_and_follow(gunicorn)


def follower_here(asked: bool | None) -> bool:
    """Whether `serve` runs the follower in-process: as asked, else when the database is SQLite.

    Decided by the engine, not by whether DATABASE_URL is set: sqlite:///... is
    still the embedded database, with no `crowdray follow` beside it.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crowdray.settings")
    from django.conf import settings

    engine = str(settings.DATABASES["default"]["ENGINE"])
    here = asked if asked is not None else engine.endswith("sqlite3")
    if here:
        log.info("the follower runs inside serve (database engine %s)", engine)
    else:
        log.info(
            "the follower does not run inside serve (database engine %s): run `crowdray follow`",
            engine,
        )
    return here


def _metrics_dir() -> None:
    """A fresh folder where every gunicorn worker writes its metrics (api.metrics)."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        return
    from crowdray.datadir import data_dir

    folder = data_dir() / "prometheus"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def serve_and_follow(gunicorn: list[str]) -> None:
    """Gunicorn as a child process, the follower in a thread of this one; stops with either."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crowdray.settings")
    django.setup()
    from follow.follower import configured, run_all

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = subprocess.Popen(gunicorn)
    follower = threading.Thread(target=run_all, args=(configured(), stop), name="follower")
    follower.start()
    while not stop.is_set() and server.poll() is None:
        stop.wait(0.5)
    stop.set()
    if server.poll() is None:
        server.terminate()
    code = server.wait(timeout=30)
    follower.join(timeout=30)
    sys.exit(max(0, code))


def demo(argv: list[str]) -> None:
    from crowdray.demo import main as run

    run(argv)


def coincidence(argv: list[str]) -> None:
    from coincidence.cli import main as run

    configure_logging()
    run(argv)


def simulate(argv: list[str]) -> None:
    from simulator.cli import main as run

    configure_logging()
    run(argv)


COMMANDS = {"serve": serve, "demo": demo, "coincidence": coincidence, "simulate": simulate}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("coincidence", "simulate"):  # these need no data folder
        prepare_data_dir()
    if argv and argv[0] in COMMANDS:
        COMMANDS[argv[0]](argv[1:])
        return
    from django.core.management import execute_from_command_line

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crowdray.settings")
    if argv and argv[0] == "load-showers":
        argv[0] = "load_showers"
    if not argv or argv[0] in ("-h", "--help", "help"):
        print("crowdray commands: " + ", ".join(COMMANDS) + "; and Django's (below)\n")
    execute_from_command_line(["crowdray", *argv])


if __name__ == "__main__":
    main()
