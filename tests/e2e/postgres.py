"""A throwaway PostgreSQL server for tests (standard library only).

`ThrowawayPostgres` runs `initdb` in a fresh temporary directory (trust authentication,
superuser `alcove`, UTF8) and starts the server on 127.0.0.1 on a free ephemeral port,
its unix socket in that directory and durability off (`fsync=off`: nothing here needs to
survive a crash). `stop()` stops it and removes the directory. PostgreSQL refuses to run
as root, so under root the directory is handed to `nobody` and the server's commands run
as that user.

As a command, `python3 tests/e2e/postgres.py run -- CMD ARGS...` starts a server, runs
CMD with ALCOVE_TEST_POSTGRES naming a database `alcove_test` on it, stops the server and
exits with CMD's status. Without PostgreSQL installed, CMD runs without the variable (its
PostgreSQL tests skip themselves)."""

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.parse

SUPERUSER = "alcove"
# Many servers under test each hold connection pools on one cluster.
MAX_CONNECTIONS = 400
START_TIMEOUT_S = 60
# Server log kept in error messages.
LOG_TAIL_CHARS = 4000
# A port picked free can be taken before the server binds it: try again on another.
START_ATTEMPTS = 3
UNPRIVILEGED_USER = "nobody"


class PostgresError(RuntimeError):
    pass


def find_bindir():
    """The directory holding `initdb` and `postgres`: the newest /usr/lib/postgresql/*/bin
    (Debian's layout), else `pg_config --bindir`, else wherever PATH finds `initdb`; None
    when PostgreSQL's server is not installed."""

    def has_server(path):
        return all(os.access(os.path.join(path, tool), os.X_OK) for tool in ("initdb", "postgres", "pg_ctl"))

    def version(path):
        name = os.path.basename(os.path.dirname(path))
        return tuple(int(part) for part in re.findall(r"\d+", name))

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    if shutil.which("pg_config"):
        try:
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(os.path.dirname(os.path.realpath(initdb)))
    return next((path for path in candidates if has_server(path)), None)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def quote_identifier(name):
    return '"' + name.replace('"', '""') + '"'


class ThrowawayPostgres:
    """One temporary PostgreSQL cluster; usable as a context manager."""

    def __init__(self, bindir=None):
        self.bindir = bindir or find_bindir()
        if self.bindir is None:
            raise PostgresError(
                "PostgreSQL's server is not installed: no initdb/postgres/pg_ctl under "
                "/usr/lib/postgresql/*/bin, `pg_config --bindir` or PATH"
            )
        self.dir = None
        self.port = None
        self.running = False

    # Paths and URLs.

    @property
    def data_dir(self):
        return os.path.join(self.dir, "data")

    @property
    def log_path(self):
        return os.path.join(self.dir, "server.log")

    @property
    def url(self):
        return self.database_url("postgres")

    def database_url(self, name):
        return f"postgres://{SUPERUSER}@127.0.0.1:{self.port}/{urllib.parse.quote(name, safe='')}"

    def tool(self, name):
        """The path of one of PostgreSQL's programs (psql, createdb, ...) beside the server."""
        return os.path.join(self.bindir, name)

    # Running the server's commands, as an unprivileged user under root.

    def _as_server_user(self, argv):
        if os.geteuid() != 0:
            return argv
        user = pwd.getpwnam(UNPRIVILEGED_USER)
        if shutil.which("setpriv"):
            return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", *argv]
        if shutil.which("runuser"):
            return ["runuser", "-u", UNPRIVILEGED_USER, "--", *argv]
        raise PostgresError("running as root, but neither setpriv nor runuser exists to drop to an unprivileged user")

    def _env(self):
        # The caller's PG* variables (PGDATA, PGPORT, ...) must not steer this cluster.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        return env

    def _run(self, argv, what, timeout=START_TIMEOUT_S):
        try:
            result = subprocess.run(
                self._as_server_user(argv),
                cwd=self.dir,
                env=self._env(),
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as e:
            raise PostgresError(f"{what} took longer than {timeout}s{self._log_tail()}") from e
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()
            raise PostgresError(f"{what} failed (exit {result.returncode}): {output}{self._log_tail()}")
        return result

    def _check_reachable(self, uid):
        """Fails clearly when a parent of the cluster's directory is closed to `uid`."""
        parent = os.path.dirname(self.dir)
        while True:
            st = os.stat(parent)
            if st.st_uid != uid and not st.st_mode & 0o001:
                raise PostgresError(
                    f"{parent} is not traversable by {UNPRIVILEGED_USER}, who runs PostgreSQL under root "
                    "(point TMPDIR at a directory whose parents all have mode o+x)"
                )
            if parent == os.path.dirname(parent):
                return
            parent = os.path.dirname(parent)

    def _log_tail(self):
        try:
            with open(self.log_path, errors="replace") as f:
                text = f.read()
        except OSError:
            return ""
        return f"\n--- tail of the server log ({self.log_path}) ---\n{text[-LOG_TAIL_CHARS:]}" if text else ""

    # Lifecycle.

    def start(self):
        if self.running:
            return self
        # mkdtemp makes the directory 0700; 0755 lets the unprivileged user reach into it
        # when it is not the owner (its parents are the system temp directory's).
        self.dir = tempfile.mkdtemp(prefix="alcove-pg-")
        os.chmod(self.dir, 0o755)
        try:
            if os.geteuid() == 0:
                user = pwd.getpwnam(UNPRIVILEGED_USER)
                os.chown(self.dir, user.pw_uid, user.pw_gid)
                self._check_reachable(user.pw_uid)
            self._run(
                [
                    self.tool("initdb"),
                    "--pgdata",
                    self.data_dir,
                    "--username",
                    SUPERUSER,
                    "--auth",
                    "trust",
                    "--encoding",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                ],
                "initdb",
            )
            with open(os.path.join(self.data_dir, "postgresql.conf"), "a") as conf:
                conf.write(
                    "\n# Throwaway test cluster.\n"
                    "listen_addresses = '127.0.0.1'\n"
                    f"unix_socket_directories = '{self.dir}'\n"
                    f"max_connections = {MAX_CONNECTIONS}\n"
                    "fsync = off\n"
                    "synchronous_commit = off\n"
                    "full_page_writes = off\n"
                )
            for attempt in range(START_ATTEMPTS):
                self.port = free_port()
                try:
                    self._run(
                        [
                            self.tool("pg_ctl"),
                            "start",
                            "--wait",
                            f"--timeout={START_TIMEOUT_S}",
                            "--pgdata",
                            self.data_dir,
                            "--log",
                            self.log_path,
                            "-o",
                            f"-p {self.port}",
                        ],
                        f"starting PostgreSQL on 127.0.0.1:{self.port}",
                        timeout=START_TIMEOUT_S + 10,
                    )
                    break
                except PostgresError as e:
                    if attempt + 1 < START_ATTEMPTS and "already in use" in str(e):
                        continue
                    raise
            self.running = True
        except BaseException:
            self._stop_server()
            self._remove_dir()
            raise
        return self

    def stop(self):
        try:
            self._stop_server()
        finally:
            self._remove_dir()

    def _stop_server(self):
        if self.dir is None or not os.path.exists(os.path.join(self.data_dir, "postmaster.pid")):
            self.running = False
            return
        # Immediate: nothing in a throwaway cluster needs a clean shutdown.
        argv = [self.tool("pg_ctl"), "stop", "--wait", "--mode=immediate", "--pgdata", self.data_dir]
        try:
            self._run(argv, "stopping PostgreSQL", timeout=30)
        except PostgresError:
            self._kill_postmaster()
        self.running = False

    def _kill_postmaster(self):
        try:
            with open(os.path.join(self.data_dir, "postmaster.pid")) as f:
                os.kill(int(f.readline().strip()), signal.SIGKILL)
        except (OSError, ValueError):
            pass

    def _remove_dir(self):
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # Databases.

    def psql(self, *args, database="postgres"):
        """Runs psql as the superuser against `database`; returns its standard output."""
        argv = [self.tool("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", self.database_url(database)]
        result = subprocess.run([*argv, *args], capture_output=True, text=True, env=self._env(), timeout=60)
        if result.returncode != 0:
            raise PostgresError(f"psql {' '.join(args)} failed (exit {result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def create_database(self, name):
        """Creates database `name` and returns its URL."""
        self.psql("-c", f"CREATE DATABASE {quote_identifier(name)}")
        return self.database_url(name)


def run(argv):
    """Runs argv with ALCOVE_TEST_POSTGRES naming a database on a throwaway cluster."""
    if find_bindir() is None:
        print("postgres.py: PostgreSQL is not installed; PostgreSQL-backed tests are skipped", file=sys.stderr)
        return subprocess.call(argv)
    pg = ThrowawayPostgres()
    try:
        pg.start()
        env = dict(os.environ, ALCOVE_TEST_POSTGRES=pg.create_database("alcove_test"))
    except PostgresError as e:
        pg.stop()
        print(f"postgres.py: {e}", file=sys.stderr)
        return 1
    child = None

    def forward(signum, _frame):
        if child is None:
            raise SystemExit(128 + signum)
        if child.poll() is None:
            child.send_signal(signum)

    try:
        # On SIGTERM/SIGHUP the command is told and finishes; the cluster is stopped after it.
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, forward)
        child = subprocess.Popen(argv, env=env)
        while True:
            try:
                status = child.wait()
                break
            except KeyboardInterrupt:
                # The terminal's Ctrl-C reached the command too; wait for it to end.
                continue
    finally:
        pg.stop()
    return 128 - status if status < 0 else status


def main(args):
    usage = "usage: postgres.py run -- CMD [ARGS...]"
    if len(args) < 3 or args[0] != "run" or args[1] != "--":
        print(usage, file=sys.stderr)
        return 2
    return run(args[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
