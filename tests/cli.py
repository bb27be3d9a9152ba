"""`newsrag …` run inside the test process, for tests that run many commands: each subprocess
paid ~5-7 s of imports (torch, sentence-transformers) before its work, most of a
many-command test's time. The tests of the command itself as a process (its exit codes, what
`main` maps errors to) keep running it as one (`tests.integration.test_seed_e2e._cli`)."""

from __future__ import annotations

import subprocess
import traceback


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The command's exit code, stdout and stderr (with the traceback of an error it raised),
    its settings read from `env` as a new process would."""
    from typer.testing import CliRunner

    from service.cli import app
    from service.settings import get_settings

    get_settings.cache_clear()  # a process reads its settings once; here each command does
    try:
        r = CliRunner().invoke(app, list(args), env=env)
    finally:
        get_settings.cache_clear()
    err = r.stderr
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        err += "".join(traceback.format_exception(r.exception))
    return subprocess.CompletedProcess(["newsrag", *args], r.exit_code, r.stdout, err)
