// The TypeScript SDK (@anthropic-ai/sdk, from the npm registry) as a client program.
//
//     NODE_PATH=<installed node_modules> node typescript_sdk.cjs < plan.json
//
// The plan and the outcome are those of the Python client programs (tests/clients/python/common.py):
// each target's scenarios are run in turn and `{target: {scenario: outcome}}` is printed as JSON.
// The SDK sends the key as `Authorization: Bearer` unless an `x-api-key` header is given instead.
"use strict";

const Anthropic = require("@anthropic-ai/sdk").default;

const QUESTION = "Is this review positive or negative? 'Great blender, quiet and fast.'";
const PARAGRAPH = "Write a short paragraph about the water cycle.";
const WHY = "Explain why the sky is blue in two sentences.";
const WEATHER_SYSTEM = "You are a travel assistant. Use the tools you are given.";
const WEATHER_QUESTION = "What's the weather in Paris today?";
const WEATHER_REPORT = "18°C and sunny";
const WEATHER_TOOL = {
  name: "get_weather",
  description: "Current weather for a city.",
  input_schema: {
    type: "object",
    properties: { city: { type: "string", description: "The city, e.g. Paris." } },
    required: ["city"],
  },
};
const BATCH_WAIT_MS = 30000;

const user = (text) => [{ role: "user", content: text }];

// A client for one scenario, its requests named in the gateway's ledger by x-router-task-id.
function client(plan, target, scenario, { headers = {}, ...options } = {}) {
  return new Anthropic({
    baseURL: target.base_url,
    apiKey: target.key,
    defaultHeaders: { "x-router-task-id": `${plan.client}/${scenario}`, ...headers },
    ...options,
  });
}

function messageOut(message) {
  const blocks = message.content;
  return {
    model: message.model,
    stop_reason: message.stop_reason,
    blocks: blocks.map((b) => b.type),
    text: blocks.filter((b) => b.type === "text").map((b) => b.text).join(""),
    thinking: blocks.filter((b) => b.type === "thinking").map((b) => b.thinking).join(""),
    calls: blocks.filter((b) => b.type === "tool_use").map((b) => ({ name: b.name, input: b.input })),
    usage: message.usage,
  };
}

const scenarios = {
  async plain(plan, target) {
    const sdk = client(plan, target, "plain");
    const { data, response } = await sdk.messages
      .create({ model: plan.models.plain, max_tokens: 256, messages: user(QUESTION) })
      .withResponse();
    return { ...messageOut(data), request_id: response.headers.get("request-id") };
  },

  async stream(plan, target) {
    const sdk = client(plan, target, "stream");
    const stream = sdk.messages.stream({ model: plan.models.plain, max_tokens: 512, messages: user(PARAGRAPH) });
    let deltas = 0;
    stream.on("text", () => (deltas += 1));
    const final = await stream.finalMessage();
    return { ...messageOut(final), deltas };
  },

  async tools(plan, target) {
    const sdk = client(plan, target, "tools");
    const ask = { model: plan.models.plain, max_tokens: 512, system: WEATHER_SYSTEM, tools: [WEATHER_TOOL] };
    const messages = user(WEATHER_QUESTION);
    const first = await sdk.messages.create({ ...ask, messages });
    const calls = first.content.filter((b) => b.type === "tool_use");
    if (calls.length === 0) return { first: messageOut(first) };
    messages.push({ role: "assistant", content: first.content });
    messages.push({
      role: "user",
      content: calls.map((c) => ({ type: "tool_result", tool_use_id: c.id, content: WEATHER_REPORT })),
    });
    const final = await sdk.messages.create({ ...ask, messages });
    return { first: messageOut(first), final: messageOut(final) };
  },

  async thinking_adaptive(plan, target) {
    const sdk = client(plan, target, "thinking_adaptive");
    const message = await sdk.messages.create({
      model: plan.models.adaptive,
      max_tokens: 4096,
      thinking: { type: "adaptive", display: "summarized" },
      messages: user(WHY),
    });
    return messageOut(message);
  },

  async thinking_budget(plan, target) {
    const sdk = client(plan, target, "thinking_budget");
    const message = await sdk.messages.create({
      model: plan.models.budget,
      max_tokens: 4096,
      thinking: { type: "enabled", budget_tokens: 1024 },
      messages: user(WHY),
    });
    return messageOut(message);
  },

  async effort(plan, target) {
    const sdk = client(plan, target, "effort");
    const out = {};
    for (const level of ["low", "high"]) {
      const message = await sdk.messages.create({
        model: plan.models.effort,
        max_tokens: 4096,
        output_config: { effort: level },
        messages: user(WHY),
      });
      out[level] = messageOut(message);
    }
    return out;
  },

  async betas(plan, target) {
    const sdk = client(plan, target, "betas");
    const message = await sdk.beta.messages.create({
      model: plan.models.fast,
      max_tokens: 256,
      speed: "fast",
      betas: ["fast-mode-2026-02-01"],
      messages: user(QUESTION),
    });
    return messageOut(message);
  },

  async count_tokens(plan, target) {
    const sdk = client(plan, target, "count_tokens");
    const counted = await sdk.messages.countTokens({
      model: plan.models.count,
      system: WEATHER_SYSTEM,
      messages: user(WHY),
    });
    return { input_tokens: counted.input_tokens };
  },

  async models(plan, target) {
    const sdk = client(plan, target, "models");
    const first = await sdk.models.list({ limit: 3 });
    let page = first;
    let pages = 1;
    const ids = page.data.map((m) => m.id);
    while (page.hasNextPage() && pages < 100) {
      page = await page.getNextPage();
      pages += 1;
      ids.push(...page.data.map((m) => m.id));
    }
    return { first_page: first.data.map((m) => m.id), has_more: first.has_more, pages, ids };
  },

  async batches(plan, target) {
    const sdk = client(plan, target, "batches");
    const params = { model: plan.models.plain, max_tokens: 512 };
    let batch = await sdk.messages.batches.create({
      requests: [
        { custom_id: "review", params: { ...params, messages: user(QUESTION) } },
        { custom_id: "sky", params: { ...params, messages: user(WHY) } },
      ],
    });
    const deadline = Date.now() + BATCH_WAIT_MS;
    while (batch.processing_status !== "ended" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      batch = await sdk.messages.batches.retrieve(batch.id);
    }
    const results = [];
    for await (const entry of await sdk.messages.batches.results(batch.id)) {
      const result = { custom_id: entry.custom_id, type: entry.result.type };
      if (entry.result.type === "succeeded") Object.assign(result, messageOut(entry.result.message));
      results.push(result);
    }
    return { id: batch.id, status: batch.processing_status, results };
  },

  async auth_x_api_key(plan, target) {
    const sdk = client(plan, target, "auth_x_api_key", { apiKey: null, headers: { "x-api-key": target.key } });
    const message = await sdk.messages.create({ model: plan.models.plain, max_tokens: 256, messages: user(QUESTION) });
    return messageOut(message);
  },

  async bad_key(plan, target) {
    const sdk = client(plan, target, "bad_key", { apiKey: plan.bad_key });
    const message = await sdk.messages.create({ model: plan.models.plain, max_tokens: 64, messages: user(QUESTION) });
    return messageOut(message);
  },

  async auto(plan, target) {
    const sdk = client(plan, target, "auto");
    const { data, response } = await sdk.messages
      .create({ model: "auto", max_tokens: 256, messages: user(QUESTION) })
      .withResponse();
    return {
      ...messageOut(data),
      router_model: response.headers.get("x-router-model"),
      router_label: response.headers.get("x-router-label"),
    };
  },
};

function describe(error) {
  const headers = error && error.headers;
  const get = (name) => (headers && typeof headers.get === "function" ? headers.get(name) : null);
  return {
    type: (error && error.constructor && error.constructor.name) || "Error",
    message: String((error && error.message) || error).slice(0, 500),
    status: (error && typeof error.status === "number" && error.status) || null,
    should_retry: get("x-should-retry"),
  };
}

async function readPlan() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

async function main() {
  const plan = await readPlan();
  const out = {};
  for (const target of plan.targets) {
    out[target.name] = {};
    for (const name of target.scenarios) {
      const scenario = scenarios[name];
      if (!scenario) continue;
      const started = Date.now();
      let outcome;
      try {
        outcome = { ok: true, ...(await scenario(plan, target)) };
      } catch (error) {
        outcome = { ok: false, error: describe(error) };
      }
      outcome.seconds = (Date.now() - started) / 1000;
      out[target.name][name] = outcome;
    }
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
