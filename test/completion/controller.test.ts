// The completion controller against the real engine process and the demo model: prompt,
// stop rules, deduplication, the suggestion cache, the generation in flight, debounce,
// cancellation inside the engine, the engine's prefix cache, and masks.
import { describe, it, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { EngineClient } from "../../src/engine/engine-client";
import type { GenerateResult } from "../../src/engine/generate";
import type { GenerateParams } from "../../src/engine/protocol";
import { type Steering, steeringFromIndexLists } from "../../src/engine/steering";
import { structureCut } from "../../src/engine/structure-stop";
import {
  CompletionController,
  type CompletionEngine,
  type CompletionEvent,
  type CompletionSettings,
} from "../../src/completion/controller";
import { promptTokenizer } from "../../src/completion/prompt";
import type { CompletionRequest } from "../../src/completion/request";
import { SentencePieceTokenizer } from "../../src/tokenizer/tokenizer";
import { DEMO_MODEL, TEST_CACHE } from "../helpers/fixtures";

const PY =
  'import os\n\n\ndef read_lines(path):\n    """Return the lines of the file at ' +
  'path."""\n    with open(path) as f:\n        ';
const MID = "import os\n\n\ndef read_lines(path):\n    with open(";

/** The engine with a record of every generate call and its result. */
class RecordingEngine implements CompletionEngine {
  calls: Array<{ params: GenerateParams; result?: GenerateResult; streamed: string }> = [];
  /** Rewrites params before they go to the engine (tests of the mechanism, not the rules). */
  rewrite: (p: GenerateParams) => GenerateParams = (p) => p;
  constructor(readonly client: EngineClient) {}
  async generate(
    params: GenerateParams,
    hooks: { signal?: AbortSignal; onText?: (t: string) => void } = {},
  ): Promise<GenerateResult> {
    const call: { params: GenerateParams; result?: GenerateResult; streamed: string } = {
      params: this.rewrite(params),
      streamed: "",
    };
    this.calls.push(call);
    call.result = await this.client.generate(call.params, {
      signal: hooks.signal,
      onText: (t) => {
        call.streamed += t;
        hooks.onText?.(t);
      },
    });
    return call.result;
  }
}

const request = (textBefore: string, extra: Partial<CompletionRequest> = {}): CompletionRequest => ({
  docKey: "file:///test.py",
  languageId: "python",
  textBefore,
  beforeStart: 0,
  textAfter: "",
  tabSize: 4,
  manual: false,
  ...extra,
});

describe("completion controller (real engine, demo model)", () => {
  const client = new EngineClient({ modelDir: DEMO_MODEL, ep: "cpu", cacheDir: TEST_CACHE });
  const tokenizer = promptTokenizer(SentencePieceTokenizer.fromFile(join(DEMO_MODEL, "tokenizer.model")));
  let engine: RecordingEngine;
  let events: CompletionEvent[];
  let settings: CompletionSettings;
  let steering: Steering | undefined;
  let controller: CompletionController;

  before(async () => {
    await client.start();
  });
  after(async () => client.close());
  beforeEach(() => {
    engine = new RecordingEngine(client);
    events = [];
    settings = {
      maxTokens: 48,
      temperature: 0,
      topP: 1,
      timeLimitMs: 10_000,
      debounceMs: 30,
      contextTokens: 512,
    };
    steering = undefined;
    controller = new CompletionController({
      engine,
      model: async () => ({ key: "demo", tokenizer, maxPositions: 2048 }),
      steering: () => steering,
      settings: () => settings,
      onEvent: (e) => events.push(e),
      orphanMs: 100,
    });
  });

  it("mid-line: completes the rest of the line, deterministically", async () => {
    const a = await controller.provide(request(MID));
    assert.ok(a, "a suggestion");
    assert.equal(a.source, "engine");
    assert.ok(!a.text.includes("\n"), `one line: ${JSON.stringify(a.text)}`);
    assert.equal(engine.calls[0]!.params.structure?.kind, "line");
    // The model goes on past the line; the rule stops it in the engine, a token after the newline.
    assert.equal(engine.calls[0]!.result!.stopReason, "structure");
    assert.ok(engine.calls[0]!.result!.text.startsWith(`${a.text}\n`));
    controller.reset();
    const b = await controller.provide(request(MID));
    assert.equal(b?.text, a.text, "greedy decoding gives the same suggestion");
  });

  it("at a line start: a block that respects the structure rule", async () => {
    const s = await controller.provide(request(PY));
    assert.ok(s, "a suggestion");
    const call = engine.calls[0]!;
    assert.deepEqual(call.params.structure, { kind: "block", indent: 8, tabSize: 4 });
    assert.ok(call.params.prompt!.endsWith("        "), "the prompt is the text before the cursor");
    // The shown text is cut where the rule says; nothing in it triggers the rule again.
    assert.equal(structureCut(`${s.text}\n`, { kind: "block", indent: 8, tabSize: 4 }), undefined);
    assert.ok(call.result!.text.startsWith(s.text));
    for (const line of s.text.split("\n").slice(1))
      if (line.trim())
        assert.ok(line.startsWith("        "), `no dedent below the cursor: ${JSON.stringify(line)}`);
    assert.ok(["structure", "eos", "max-tokens"].includes(call.result!.stopReason));
  });

  it("a repeated request is served from the cache, without the engine", async () => {
    const a = await controller.provide(request(MID));
    const b = await controller.provide(request(MID));
    assert.equal(engine.calls.length, 1);
    assert.equal(b?.source, "cache");
    assert.equal(b?.text, a?.text);
  });

  it("typing the suggested text keeps the rest of it shown, without recomputing", async () => {
    const a = await controller.provide(request(MID));
    assert.ok(a && a.text.length >= 3, `a suggestion to type through: ${JSON.stringify(a?.text)}`);
    for (let k = 1; k < a.text.length; k++) {
      const s = await controller.provide(request(MID + a.text.slice(0, k)));
      assert.equal(s?.source, "cache");
      assert.equal(s?.text, a.text.slice(k));
    }
    assert.equal(engine.calls.length, 1);
    // Typing something else asks the engine again.
    await controller.provide(request(`${MID}zzz`));
    assert.equal(engine.calls.length, 2);
  });

  it("debounce: a burst of keystrokes makes one engine request, for the last one", async () => {
    settings.debounceMs = 80;
    const text = "def scale(values, factor):\n    return [v * factor for v in ";
    const results: Array<Promise<unknown>> = [];
    let prev: AbortController | undefined;
    for (let k = text.length - 8; k <= text.length; k++) {
      prev?.abort(); // the editor cancels the previous request on each keystroke
      const ctrl = new AbortController();
      prev = ctrl;
      results.push(controller.provide(request(text.slice(0, k)), ctrl.signal));
      await new Promise((r) => setTimeout(r, 20));
    }
    const all = await Promise.all(results);
    assert.equal(engine.calls.length, 1, "one generation");
    assert.equal(engine.calls[0]!.params.prompt, text);
    assert.ok(
      all.slice(0, -1).every((r) => r === undefined),
      "the stale requests show nothing",
    );
  });

  it("a stale request is cancelled inside the engine, not just dropped", async () => {
    // No structure rule and a large budget: only cancellation can stop this one early.
    engine.rewrite = (p) =>
      engine.calls.length === 0 ? { ...p, structure: undefined, maxTokens: 400, ignoreEos: true } : p;
    settings.debounceMs = 0;
    const first = controller.provide(request(PY, { manual: true }));
    while ((engine.calls[0]?.streamed.length ?? 0) === 0) await new Promise((r) => setTimeout(r, 5));
    const second = controller.provide(request("x = 1\ny = ", { docKey: "file:///other.py", manual: true }));
    assert.equal(await first, undefined);
    await second;
    const stopped = engine.calls[0]!.result!;
    assert.equal(stopped.stopReason, "cancelled");
    assert.ok(stopped.ids.length < 100, `the engine stopped after ${stopped.ids.length} of 400 tokens`);
  });

  it("a generation nobody waits for any more is cancelled in the engine", async () => {
    engine.rewrite = (p) => ({ ...p, structure: undefined, maxTokens: 400, ignoreEos: true });
    const ctrl = new AbortController();
    const pending = controller.provide(request(PY, { manual: true }), ctrl.signal);
    while ((engine.calls[0]?.streamed.length ?? 0) === 0) await new Promise((r) => setTimeout(r, 5));
    ctrl.abort(); // e.g. Escape: the editor cancels and asks nothing more
    assert.equal(await pending, undefined);
    while (!engine.calls[0]!.result) await new Promise((r) => setTimeout(r, 10));
    assert.equal(engine.calls[0]!.result.stopReason, "cancelled");
    assert.ok(engine.calls[0]!.result.ids.length < 200);
  });

  it("typing what the generation in flight is producing joins it instead of restarting", async () => {
    engine.rewrite = (p) => ({ ...p, structure: undefined, maxTokens: 64, ignoreEos: true });
    const first = controller.provide(request(PY, { manual: true }));
    while ((engine.calls[0]?.streamed.length ?? 0) < 2) await new Promise((r) => setTimeout(r, 2));
    const typed = engine.calls[0]!.streamed.slice(0, 1);
    const second = await controller.provide(request(PY + typed));
    await first;
    assert.equal(engine.calls.length, 1, "no second generation");
    assert.equal(second?.source, "in-flight");
    assert.ok(engine.calls[0]!.result!.text.startsWith(typed + (second?.text.slice(0, 5) ?? "")));
  });

  it("the engine reuses its cache while the user keeps typing the same prefix", async () => {
    settings.debounceMs = 0;
    await controller.provide(request(PY, { manual: true }));
    await controller.provide(request(`${PY}lines = []\n        `, { manual: true }));
    const [a, b] = engine.calls.map((c) => c.result!);
    assert.ok(
      b!.reusedTokens >= a!.promptTokens - 2,
      `${b!.reusedTokens} of ${b!.promptTokens} prompt tokens reused (first prompt: ${a!.promptTokens})`,
    );
  });

  it("drops suggestions that repeat the code after the cursor", async () => {
    const a = await controller.provide(request(PY));
    assert.ok(a);
    const firstLine = a.text.split("\n")[0]!;
    const again = await controller.provide(
      request(PY, { textAfter: `\n        ${firstLine}\n        return lines\n` }),
    );
    assert.equal(again, undefined);
    assert.ok(events.some((e) => e.type === "skipped" && /repeats/.test(e.reason)));
    assert.equal(engine.calls.length, 1);
  });

  it("no automatic suggestion before code on the cursor's line; a manual one still runs", async () => {
    assert.equal(await controller.provide(request("x = ", { textAfter: "compute(1)\n" })), undefined);
    assert.equal(engine.calls.length, 0);
    await controller.provide(request("x = ", { textAfter: "compute(1)\n", manual: true }));
    assert.equal(engine.calls.length, 1);
  });

  it("a time budget ends the generation, keeping whole lines", async () => {
    settings.timeLimitMs = 60;
    settings.maxTokens = 400;
    engine.rewrite = (p) => ({ ...p, structure: undefined });
    const s = await controller.provide(request(PY, { manual: true }));
    const r = engine.calls[0]!.result!;
    assert.equal(r.stopReason, "time-limit");
    if (s)
      assert.ok(
        r.text.startsWith(s.text) &&
          (s.text.length === r.text.trimEnd().length ||
            r.text[s.text.length] === "\n" ||
            /\s/.test(r.text[s.text.length]!)),
      );
  });

  it("masks go to the engine, change the completion where the model differs, and never share cache entries", async () => {
    settings.maxTokens = 32;
    settings.debounceMs = 0;
    const prompt = request(PY, { manual: true });
    engine.rewrite = (p) => ({ ...p, structure: undefined, ignoreEos: true });
    const plain = await controller.provide(prompt);
    // A heavy mask (every third expert of each group): the model's output must change.
    const groups = Array.from({ length: client.info!.identity.config.routingGroups }, () =>
      Array.from({ length: (512 * 512) / 3 }, (_, i) => i * 3),
    );
    steering = steeringFromIndexLists(groups, 512, "every third expert");
    const masked = await controller.provide(prompt);
    assert.equal(engine.calls.length, 2, "the masked request was not answered from the unmasked cache");
    assert.deepEqual(engine.calls[1]!.params.steering?.label, "every third expert");
    assert.notDeepEqual(
      engine.calls[1]!.result!.ids,
      engine.calls[0]!.result!.ids,
      "the masked model writes something else",
    );
    assert.ok(plain !== undefined || masked !== undefined);
    // Back to no masks: the first suggestion comes from the cache again.
    steering = undefined;
    const back = await controller.provide(prompt);
    assert.equal(back?.source, "cache");
    assert.equal(back?.text, plain?.text);
  });
});
