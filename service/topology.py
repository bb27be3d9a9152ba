"""Past one process, with existing engines only: llama.cpp's own OpenAI-compatible server for
generation, several `newsrag serve` processes, and HAProxy (Debian's) in front — health-checking
`/health`, sending writes to the processes that may write and the rest round robin.

Two shapes of the index:
- **PostgreSQL** (`store_url`): every process on the primary reads *and* writes (no writer to
  single out); a process on a streaming standby (`standby_url`) serves reads only and is the
  balancer's backup for reads when no primary process answers.
- **the index directory** (single host): one writer and N read-only replicas on one directory.

`Topology` starts and stops the whole thing (the scale demo, its benchmark and the integration
test use it); every piece is a separate OS process, as in production.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HAPROXY_CONFIG = """\
global
    maxconn 512
defaults
    mode http
    timeout connect 2s
    timeout client 300s
    timeout server 300s
    timeout http-request 30s
    # A request whose connection a dead process refused goes to another one.
    retries 3
    option redispatch
frontend newsrag
    bind 127.0.0.1:{lb}
    acl write_method method POST PUT DELETE PATCH
    acl write_path path_beg /documents /feeds /feedback
    use_backend writers if write_method write_path
    default_backend readers
backend readers
    balance roundrobin
    option httpchk
    http-check send meth GET uri /health ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server inter 300ms fall 2 rise 2
{readers}
backend writers
    balance roundrobin
    option httpchk
    http-check send meth GET uri /health ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server inter 300ms fall 2 rise 2
{writers}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes] | None, timeout: float) -> bool:
    """Whether `url` answers 200 before `timeout` seconds (False at once if `proc` exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def haproxy_path() -> str:
    found = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(found).exists():
        raise RuntimeError("haproxy is not installed: `make system` (apt-get install haproxy)")
    return found


@dataclass
class Topology:
    index_dir: Path | None
    gguf: Path
    replicas: int = 2  # directory: read-only replicas beside the writer; PostgreSQL: processes
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="newsrag-scale-")))
    env: dict[str, str] = field(default_factory=dict)  # extra NEWSRAG_* settings
    store_url: str | None = None  # the primary database: every process reads and writes
    standby_url: str | None = None  # the same database on a streaming standby: one more process
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.index_dir is None) == (self.store_url is None):
            raise ValueError("a topology runs on an index directory or on a store URL")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['lb']}"

    def server_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def newsrag_processes(self) -> list[str]:
        """Names of the `newsrag serve` processes, writers first."""
        if self.store_url:
            nodes = [f"node{i}" for i in range(1, self.replicas + 1)]
            return [*nodes, "standby"] if self.standby_url else nodes
        return ["writer", *[f"replica{i}" for i in range(1, self.replicas + 1)]]

    def writes(self, name: str) -> bool:
        return name.startswith("node") or name == "writer"

    # -- pieces ----------------------------------------------------------------------------------
    def _spawn(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 (lives with the process)
        self.procs[name] = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )

    def start_generator(self) -> None:
        port = self.ports.setdefault("generator", free_port())
        self._spawn(
            "generator",
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(self.gguf),
                "--model_alias",
                "newsrag",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "4096",
                "--n_threads",
                str(os.cpu_count() or 2),
            ],
        )
        self._wait(f"http://127.0.0.1:{port}/v1/models", "generator", timeout=180)

    def start_newsrag(self, name: str) -> None:
        port = self.ports.setdefault(name, free_port())
        writes = self.writes(name)
        env = {
            "NEWSRAG_BACKEND": "openai",
            "NEWSRAG_OPENAI_BASE_URL": f"http://127.0.0.1:{self.ports['generator']}/v1",
            "NEWSRAG_OPENAI_MODEL": "newsrag",
            "NEWSRAG_READONLY": "false" if writes else "true",
            "NEWSRAG_FEED_POLL_MINUTES": "30" if writes else "0",
            "NEWSRAG_ALLOWED_HOSTS": '["127.0.0.1", "localhost"]',
            "HF_HUB_OFFLINE": "1",
        }
        if self.store_url:  # feeds and ratings are in the database too
            url = self.store_url if writes else self.standby_url
            assert url is not None
            env |= {"NEWSRAG_STORE_URL": url, "NEWSRAG_INDEX_DIR": str(self.workdir / name)}
        else:
            env |= {
                "NEWSRAG_INDEX_DIR": str(self.index_dir),
                "NEWSRAG_FEEDBACK_PATH": str(self.workdir / "feedback.sqlite"),
            }
        cmd = [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1"]
        self._spawn(name, [*cmd, "--port", str(port)], env | self.env)

    def start_balancer(self) -> None:
        lb = self.ports.setdefault("lb", free_port())
        names = self.newsrag_processes
        writers = [n for n in names if self.writes(n)]
        # Directory: reads go to the replicas. PostgreSQL: to every process on the primary, and
        # to the standby's only when none of them answers (it lags, and cannot keep answers
        # for ratings).
        readers = [n for n in names if n not in writers] if not self.store_url else names

        def lines(servers: list[str], backup: bool = False) -> str:
            return "\n".join(
                f"    server {n} 127.0.0.1:{self.ports[n]} check"
                + (" backup" if backup and not self.writes(n) else "")
                for n in servers
            )

        cfg = self.workdir / "haproxy.cfg"
        cfg.write_text(
            HAPROXY_CONFIG.format(
                lb=lb,
                readers=lines(readers, backup=bool(self.store_url)),
                writers=lines(writers),
            )
        )
        self._spawn("haproxy", [haproxy_path(), "-f", str(cfg), "-db"])
        self._wait(f"{self.url}/health", "haproxy", timeout=30)

    def up(self) -> Topology:
        """Generator, the newsrag processes (in parallel), then the balancer once they answer."""
        try:
            self.start_generator()
            for name in self.newsrag_processes:
                self.start_newsrag(name)
            for name in self.newsrag_processes:
                self._wait(f"{self.server_url(name)}/health", name, timeout=180)
            self.start_balancer()
        except BaseException:
            self.down()
            raise
        return self

    def _wait(self, url: str, name: str, timeout: float) -> None:
        if not wait_until_up(url, self.procs.get(name), timeout):
            tail = self.log(name)[-2000:]
            raise RuntimeError(f"{name} did not come up within {timeout:.0f} s: {tail}")

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self, name: str) -> None:
        """Kill one piece at once (SIGKILL: no goodbye), as a crash would."""
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def restart_generator(self) -> None:
        self.start_generator()

    def down(self) -> None:
        for name in list(self.procs)[::-1]:
            proc = self.procs.pop(name)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()

    def __enter__(self) -> Topology:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()
