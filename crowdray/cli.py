"""The `crowdray` command: serve, demo, and every Django management command."""

from __future__ import annotations

import argparse
import os
import sys

from crowdray.datadir import prepare as prepare_data_dir
from crowdray.logs import configure as configure_logging


def _serve_argv(bind: str, workers: int, threads: int) -> list[str]:
    # Threaded workers keep connections alive and overlap one request's wait
    # on the database commit with another's parsing.
    return [
        sys.executable, "-m", "gunicorn", "crowdray.wsgi:application",
        "--bind", bind, "--workers", str(workers),
        "--worker-class", "gthread", "--threads", str(threads),
        "--access-logfile", "-", "--graceful-timeout", "10",
    ]  # fmt: skip


def serve(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="crowdray serve", description="Run the API and pages.")
    parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port (default %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.threads < 1:
        parser.error("--workers and --threads must be at least 1")
    # gunicorn takes over this process so Ctrl-C and signals reach it directly.
    os.execv(sys.executable, _serve_argv(args.bind, args.workers, args.threads))  # noqa: S606


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
