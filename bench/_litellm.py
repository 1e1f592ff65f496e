"""LiteLLM's proxy as a benchmark target, in an environment of its own (never this package's).

    python = litellm_python()                 # installs `litellm[proxy]` under .cache/ once
    command, env = proxy_command(python, port, upstream, model, key, scratch)

The proxy is set up as lightly as it runs: one worker, an Anthropic-format pass-through (its
`/v1/messages` endpoint, one `anthropic/` model whose `api_base` is the stub), no database, no
callbacks or logging, no master key, no retries, the packaged cost map (no fetch at start).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

Command = tuple[list[str], dict[str, str]]

# The newest release whose `proxy` extra installs from the registry here (1.107.0, a compromised
# release, was withdrawn; later ones need a `litellm-proxy` package the registry does not have).
VERSION = "1.106.12"
ENV_DIR = Path(__file__).resolve().parents[1] / ".cache" / f"bench-litellm-{VERSION}"

CONFIG = """\
model_list:
  - model_name: {model}
    litellm_params:
      model: anthropic/{model}
      api_base: {upstream}
      api_key: {key}
litellm_settings:
  num_retries: 0
  request_timeout: 600
  drop_params: false
  set_verbose: false
  json_logs: false
  turn_off_message_logging: true
  callbacks: []
  success_callback: []
  failure_callback: []
  cache: false
general_settings:
  disable_spend_logs: true
  disable_error_logs: true
  disable_adding_master_key_hash_to_db: true
  allow_requests_on_db_unavailable: true
  background_health_checks: false
  disable_reset_budget: true
  store_model_in_db: false
"""


def litellm_python() -> Path:
    """The interpreter of LiteLLM's own environment, created and installed on first use."""
    python = ENV_DIR / "bin" / "python"
    if python.exists() and _version(python) == VERSION:
        return python
    print(f"installing litellm[proxy]=={VERSION} into {ENV_DIR} (once) ...", file=sys.stderr, flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(ENV_DIR)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"litellm[proxy]=={VERSION}"],
        check=True,
    )
    return python


def _version(python: Path) -> str | None:
    found = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
    )
    return found.stdout.strip() if found.returncode == 0 else None


def installed_version(python: Path) -> str:
    return _version(python) or "unknown"


def proxy_command(python: Path, port: int, upstream: str, model: str, key: str, scratch: Path) -> Command:
    """LiteLLM's proxy on `port`, forwarding `model` to `upstream`: its command and environment."""
    config = scratch / "litellm.yaml"
    config.write_text(CONFIG.format(model=model, upstream=upstream, key=key))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "LITELLM_", "DATABASE_"))},
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch of the price map at start
        "LITELLM_LOG": "ERROR",
        # Authentication off, as the gateway runs beside it (it refuses to start so unless told).
        "LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY": "true",
        "DISABLE_ADMIN_UI": "True",
        "NO_DOCS": "True",
        "NO_REDOC": "True",
    }
    command = [str(python.parent / "litellm"), "--config", str(config), "--host", "127.0.0.1"]
    return [*command, "--port", str(port), "--num_workers", "1"], env
