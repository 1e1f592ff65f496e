"""The `claude-router` command line run in this process, as its console entry point runs it.

`run_cli(*args, home=...)` calls `claude_router.cli.main()` with those arguments, the caller's
`CLAUDE_ROUTER_*` and `ANTHROPIC_*` variables removed, `CLAUDE_ROUTER_HOME` set and standard
input, output and error captured, and answers like `subprocess.run`: `returncode`, `stdout`,
`stderr`. An exception that escapes `main()` is printed to `stderr` with its traceback and
returns 1, as the interpreter would. Starting Python and importing the SDK cost a process 2-3 s
of CPU; here they are paid once per test process. Tests that need a real process (signals,
SIGKILL, the `python -m` entry) start one instead.
"""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from click.testing import CliRunner

FOREIGN_ENV = ("ANTHROPIC_", "CLAUDE_ROUTER_")


@dataclass(frozen=True)
class Ran:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, home: Path, env_extra: dict[str, str] | None = None, stdin: str | None = None) -> Ran:
    """Run `claude-router ARGS` in this process; see the module docstring."""
    from claude_router.cli import main

    env: dict[str, str | None] = {name: None for name in os.environ if name.startswith(FOREIGN_ENV)}
    env |= {"CLAUDE_ROUTER_HOME": str(home), **(env_extra or {})}
    runner = CliRunner()
    with (
        runner.isolation(input=stdin, env=env) as (out, err, _),
        mock.patch.object(sys, "argv", ["claude-router", *args]),
    ):
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc.code)
        except Exception:  # noqa: BLE001 - the process boundary: what the interpreter would do
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        return Ran(args, code, out.getvalue().decode(), err.getvalue().decode("utf-8", "replace"))


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # sys.exit("message"): printed, status 1
    return 1
