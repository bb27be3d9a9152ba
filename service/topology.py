"""Past one process, with existing engines only: llama.cpp's own OpenAI-compatible server for
generation, one writer and N read-only replicas of `newsrag serve` on one index directory, and
HAProxy (Debian's) in front — health-checking `/health`, sending writes to the writer and
everything else round-robin to the replicas.

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
    # A request whose connection a dead replica refused goes to another one.
    retries 3
    option redispatch
frontend newsrag
    bind 127.0.0.1:{lb}
    acl write_method method POST PUT DELETE PATCH
    acl write_path path_beg /documents /feeds
    use_backend writer if write_method write_path
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk
    http-check send meth GET uri /health ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server inter 300ms fall 2 rise 2
{replicas}
backend writer
    option httpchk
    http-check send meth GET uri /health ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    server writer 127.0.0.1:{writer} check inter 1s
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
    index_dir: Path
    gguf: Path
    replicas: int = 2
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="newsrag-scale-")))
    env: dict[str, str] = field(default_factory=dict)  # extra NEWSRAG_* settings
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['lb']}"

    def server_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

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

    def _newsrag(self, name: str, readonly: bool) -> None:
        port = self.ports.setdefault(name, free_port())
        env = {
            "NEWSRAG_INDEX_DIR": str(self.index_dir),
            "NEWSRAG_BACKEND": "openai",
            "NEWSRAG_OPENAI_BASE_URL": f"http://127.0.0.1:{self.ports['generator']}/v1",
            "NEWSRAG_OPENAI_MODEL": "newsrag",
            "NEWSRAG_READONLY": "true" if readonly else "false",
            "NEWSRAG_FEEDBACK_PATH": str(self.workdir / "feedback.sqlite"),
            "NEWSRAG_FEED_POLL_MINUTES": "0" if readonly else "30",
            "NEWSRAG_ALLOWED_HOSTS": '["127.0.0.1", "localhost"]',
            "HF_HUB_OFFLINE": "1",
            **self.env,
        }
        cmd = [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1"]
        self._spawn(name, [*cmd, "--port", str(port)], env)

    def start_balancer(self) -> None:
        lb = self.ports.setdefault("lb", free_port())
        lines = [
            f"    server {n} 127.0.0.1:{self.ports[n]} check"
            for n in self.ports
            if n.startswith("replica")
        ]
        cfg = self.workdir / "haproxy.cfg"
        cfg.write_text(
            HAPROXY_CONFIG.format(lb=lb, replicas="\n".join(lines), writer=self.ports["writer"])
        )
        self._spawn("haproxy", [haproxy_path(), "-f", str(cfg), "-db"])
        self._wait(f"{self.url}/health", "haproxy", timeout=30)

    def up(self) -> Topology:
        """Generator, writer, replicas (in parallel), then the balancer once they answer."""
        try:
            self.start_generator()
            self._newsrag("writer", readonly=False)
            for i in range(1, self.replicas + 1):
                self._newsrag(f"replica{i}", readonly=True)
            for name in ["writer", *[f"replica{i}" for i in range(1, self.replicas + 1)]]:
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
