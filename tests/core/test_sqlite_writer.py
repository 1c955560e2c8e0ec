"""SQLite write transactions of every process on one file take turns on one file lock, so
two ``tracer serve`` workers queue in the kernel instead of in SQLite's sleeping busy handler;
and the rows a write transaction makes are there exactly once after it."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading

from sqlalchemy import text

PROBE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("held")
else:
    print("free")
"""


def _probe(path: str) -> str:
    """What another process sees of the lock file: "held" or "free"."""
    done = subprocess.run([sys.executable, "-c", PROBE, path], capture_output=True, text=True,
                          check=True)
    return done.stdout.strip()


def test_a_write_transaction_holds_the_file_lock_other_processes_wait_on(settings):
    from tracer import db

    db.upgrade(settings)
    lock_file = settings.platform_db_url.removeprefix("sqlite:///") + ".write-lock"
    with db.session(settings, write=True) as s:
        s.execute(text("SELECT 1"))
        assert os.path.exists(lock_file)
        assert _probe(lock_file) == "held"
    assert _probe(lock_file) == "free"
    with db.session(settings) as s:  # a read transaction takes no write lock
        s.execute(text("SELECT 1"))
        assert _probe(lock_file) == "free"


def test_threads_and_processes_writing_at_once_lose_no_row(settings):
    from tracer import db

    db.upgrade(settings)
    with db.session(settings, write=True) as s:
        s.execute(text("CREATE TABLE bumps (n INTEGER NOT NULL)"))
        s.execute(text("INSERT INTO bumps VALUES (0)"))

    def bump(times: int) -> None:
        for _ in range(times):  # a read-then-write: lost updates if two overlapped
            with db.session(settings, write=True) as s:
                n = s.execute(text("SELECT n FROM bumps")).scalar_one()
                s.execute(text("UPDATE bumps SET n = :n"), {"n": n + 1})

    child = subprocess.Popen([sys.executable, "-c", (
        "import sys; from sqlalchemy import text; from tracer import db; "
        "from tracer.settings import get_settings; s0 = get_settings()\n"
        "for _ in range(40):\n"
        "    with db.session(s0, write=True) as s:\n"
        "        n = s.execute(text('SELECT n FROM bumps')).scalar_one()\n"
        "        s.execute(text('UPDATE bumps SET n = :n'), {'n': n + 1})\n")],
        env={**os.environ, "TRACER_HOME": str(settings.home)})
    threads = [threading.Thread(target=bump, args=(40,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert child.wait(timeout=300) == 0
    with db.session(settings) as s:
        assert s.execute(text("SELECT n FROM bumps")).scalar_one() == 120
    # the lock is released between transactions: this process can take it again at once
    fd = os.open(settings.platform_db_url.removeprefix("sqlite:///") + ".write-lock",
                 os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
