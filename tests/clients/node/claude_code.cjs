// Claude Code's CLI (@anthropic-ai/claude-code, from the npm registry) as a client program.
//
//     node claude_code.cjs < plan.json
//
// The plan is that of the other client programs (tests/clients/python/common.py) plus `claude` (the
// installed CLI), `workspace` (the directory it works in) and `concurrency`. Each scenario is one
// non-interactive run, `claude -p <prompt> --output-format json`, with its own empty HOME, telemetry,
// updates and error reporting off, pointed at the target by ANTHROPIC_BASE_URL. The key is
// ANTHROPIC_API_KEY (sent as x-api-key) or, for `auth_bearer`, ANTHROPIC_AUTH_TOKEN (sent as
// Authorization: Bearer). The ledger's task id travels in ANTHROPIC_CUSTOM_HEADERS.
//
// Prints `{target: {scenario: outcome}}`: the CLI's JSON result (result text, turns, session id,
// subagents, error status), its exit code and the seconds the run took.
"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const RUN_TIMEOUT_MS = 90000;
// A refused key should end the run at once; one still retrying after this is stopped and reported.
const BAD_KEY_TIMEOUT_MS = 15000;

const PROMPTS = {
  hello: "say hello",
  shell: "run `echo hi` in the shell and tell me what it printed",
  read_file: "read the file notes.txt",
  auth_bearer: "say hello",
  bad_key: "say hello",
  auto: "say hello",
  session: "read the file notes.txt",
};

function environment(plan, target, scenario, home) {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("ANTHROPIC_") && !name.startsWith("CLAUDE_")) env[name] = value;
  }
  Object.assign(env, {
    HOME: home,
    ANTHROPIC_BASE_URL: target.base_url,
    ANTHROPIC_CUSTOM_HEADERS: `x-router-task-id: ${plan.client}/${scenario}`,
    DISABLE_TELEMETRY: "1",
    DISABLE_AUTOUPDATER: "1",
    DISABLE_ERROR_REPORTING: "1",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
  });
  const key = scenario === "bad_key" ? plan.bad_key : target.key;
  if (scenario === "auth_bearer") env.ANTHROPIC_AUTH_TOKEN = key;
  else env.ANTHROPIC_API_KEY = key;
  return env;
}

function runOnce(plan, target, scenario) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "claude-code-home-"));
  const args = ["-p", PROMPTS[scenario], "--output-format", "json"];
  if (scenario === "auto") args.push("--model", "auto");
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(plan.claude, args, {
      cwd: plan.workspace,
      env: environment(plan, target, scenario, home),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(
      () => child.kill("SIGKILL"),
      scenario === "bad_key" ? BAD_KEY_TIMEOUT_MS : RUN_TIMEOUT_MS,
    );
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      fs.rmSync(home, { recursive: true, force: true });
      const outcome = { exit_code: code, signal, seconds: (Date.now() - started) / 1000 };
      try {
        const result = JSON.parse(stdout.trim().split("\n").pop());
        Object.assign(outcome, {
          ok: !result.is_error,
          result: result.result,
          is_error: result.is_error,
          num_turns: result.num_turns,
          session_id: result.session_id,
          api_error_status: result.api_error_status,
          subagents: result.subagent_stats ? result.subagent_stats.spawned : null,
          models: Object.keys(result.modelUsage || {}),
          usage: result.usage,
        });
      } catch (error) {
        Object.assign(outcome, { ok: false, error: { type: "NoResult", message: stdout.slice(-500) } });
      }
      if (!outcome.ok) outcome.stderr = stderr.slice(-1000);
      resolve(outcome);
    });
  });
}

async function readPlan() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

async function main() {
  const plan = await readPlan();
  const jobs = [];
  const out = {};
  for (const target of plan.targets) {
    out[target.name] = {};
    for (const scenario of target.scenarios) {
      if (PROMPTS[scenario] !== undefined) jobs.push({ target, scenario });
    }
  }
  // The bad keys first: a run that keeps retrying one then overlaps the others.
  jobs.sort((a, b) => (b.scenario === "bad_key") - (a.scenario === "bad_key"));
  let next = 0;
  async function worker() {
    while (next < jobs.length) {
      const { target, scenario } = jobs[next++];
      out[target.name][scenario] = await runOnce(plan, target, scenario);
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, plan.concurrency || 1) }, worker));
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
