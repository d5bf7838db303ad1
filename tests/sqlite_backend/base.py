"""Django's SQLite backend for the SQLite test pass, waiting on a locked table as a file
database waits on a locked file.

pytest-django puts SQLite's test database in shared-cache memory, where a connection that
meets another's lock fails at once ("database table is locked") instead of waiting out
the busy timeout as `scripts/run`'s file database does. Our event log is written from its
own thread and connection, so it and a request would race. A request's thread waits (up
to 5 s) and retries the statement, which had no effect when it failed. The event log's
writer (boztell.realtime, thread "boztell-log") does not wait: a test that holds its
transaction open until it ends (`db`) would hold it up, and its events go out without a
cursor, as when the log cannot be written.
"""

import sqlite3
import threading
import time

from django.db.backends.sqlite3 import base


def _locked(exc: Exception) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "is locked" in str(exc)


class SQLiteCursorWrapper(base.SQLiteCursorWrapper):
    def execute(self, query, params=None):
        deadline = time.monotonic() + 5
        while True:
            try:
                return super().execute(query, params)
            except sqlite3.OperationalError as exc:
                waits = not threading.current_thread().name.startswith("boztell-log")
                if not (waits and _locked(exc)) or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)


class DatabaseWrapper(base.DatabaseWrapper):
    def create_cursor(self, name=None):
        return self.connection.cursor(factory=SQLiteCursorWrapper)
