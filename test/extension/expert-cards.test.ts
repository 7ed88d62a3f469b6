// The expert-card flow of the extension, as the routing view drives it: the page's messages
// go through the heatmap controller (validation included) to the extension's context with
// the real engine, the demo model and its shipped atlas; what comes back is what the page
// would draw. Cards, the search box, contexts from the open file, the exact effect at the
// cursor, and switches that reach completions' steering and persist per workspace.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Ctx } from "../../src/app/ctx";
import { expertCardDeps } from "../../src/app/expert-cards";
import { ExpertSwitches } from "../../src/app/expert-switches";
import { heatmapDeps } from "../../src/app/heatmap-deps";
import type { MonetLensConfig } from "../../src/app/config";
import type { GenerateParams } from "../../src/engine/protocol";
import { HeatmapController, type ControllerHost } from "../../src/heatmap/controller";
import type { ToWebview } from "../../src/heatmap-shared/messages";
import { DEMO_MODEL, SHARED, TEST_CACHE } from "../helpers/fixtures";
import { FakeMemento, FakeUi } from "../helpers/fakes";

const PROMPT = 'def fibonacci(n):\n    """';
const X = "g0:359:356";

type Msg<T extends ToWebview["type"]> = Extract<ToWebview, { type: T }>;

describe("expert cards: routing view → controller → extension → engine (demo model, shipped atlas)", () => {
  const tmp = mkdtempSync(join(TEST_CACHE, "..", "lens-cards-"));
  const memento = new FakeMemento();
  const settings: Partial<MonetLensConfig> = {
    modelPath: DEMO_MODEL,
    executionProvider: "cpu",
    maxTokens: 16,
    debounceMs: 0,
    idleUnloadMinutes: 0,
  };
  const logs: string[] = [];
  const posted: ToWebview[] = [];
  let ctx: Ctx;
  let controller: HeatmapController;
  let experts: ReturnType<typeof expertCardDeps>;
  const file = join(tmp, "mine.py");

  const last = <T extends ToWebview["type"]>(type: T): Msg<T> | undefined =>
    posted.filter((m): m is Msg<T> => m.type === type).at(-1);
  const expertStatus = () =>
    posted.filter((m): m is Msg<"status"> => m.type === "status" && m.view === "expert").at(-1);

  before(() => {
    const py = readdirSync(join(SHARED, "corpus", "python")).sort()[0]!;
    writeFileSync(file, readFileSync(join(SHARED, "corpus", "python", py), "utf8").slice(0, 3000));
    ctx = new Ctx({
      ui: new FakeUi(),
      log: {
        info: (l) => logs.push(l),
        warn: (l) => logs.push(`warn: ${l}`),
        error: (l) => logs.push(`error: ${l}`),
      },
      settings: () => (key) => settings[key],
      enableFor: () => undefined,
      workspaceState: memento,
      storageDir: join(tmp, "storage"),
      engine: { cacheDir: TEST_CACHE },
    });
    experts = expertCardDeps(ctx);
    const host: ControllerHost = {
      post: (m) => posted.push(JSON.parse(JSON.stringify(m)) as ToWebview),
      findTarget: async () => ({ ok: false, reason: "no editor in this test" }),
      cursorContext: () => ({
        ok: true,
        value: {
          uri: "file:///w/fib.py",
          version: 1,
          prompt: PROMPT,
          source: { file: "fib.py", startLine: 2, endLine: 2, kind: "cursor" },
        },
      }),
      select: async () => "ok",
      visible: () => true,
      expertSources: (from) =>
        from === "file" ? { ok: true, value: [file] } : { ok: false, reason: "no workspace" },
    };
    controller = new HeatmapController(host, { ...heatmapDeps(ctx), experts }, { pinned: false });
  });
  after(async () => {
    controller.dispose();
    experts.dispose();
    await ctx.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("opens a card: routing profile per class against the expert's mean, corpus contexts with the token", async () => {
    await controller.receive({ type: "ready" });
    assert.deepEqual(last("expertSwitches")?.switches, { scales: [], sets: [] });
    await controller.receive({ type: "openExpert", expert: X });
    const card = last("expertCard")?.card;
    assert.ok(card, JSON.stringify(expertStatus()));
    assert.equal(card.expert, X);
    assert.deepEqual(card.owner, { id: "python", kind: "language" });
    assert.equal(card.classes.length, 12, "11 languages and prose");
    assert.equal(card.classes[0]!.id, "python");
    assert.ok(card.classes[0]!.lift > 5, `lift ${card.classes[0]!.lift}`);
    assert.ok(card.classes.some((k) => k.id === "plaintext" && k.kind === "control"));
    assert.equal(card.atlas, "tiny-codemonet.atlas.json");
    assert.equal(card.contexts.length, 4, JSON.stringify(card.missing));
    assert.ok(card.contexts.every((c) => c.token.includes('"""') && c.path.startsWith("python/")));
    assert.equal(expertStatus()?.state, "idle");
  });

  it("search: an id opens its card, 'top 5 experts of rust' lists them, nonsense and unknown classes say why", async () => {
    await controller.receive({ type: "findExperts", query: "top 5 experts of rust" });
    const list = last("expertList")?.list;
    assert.equal(list?.language, "rust");
    assert.equal(list?.experts.length, 5);
    assert.ok(list!.experts[0]!.mean >= list!.experts[4]!.mean);
    const before = posted.filter((m) => m.type === "expertCard").length;
    await controller.receive({ type: "findExperts", query: "  G0:359:356 " });
    assert.equal(posted.filter((m) => m.type === "expertCard").length, before + 1);
    await controller.receive({ type: "findExperts", query: "cobol" });
    assert.equal(expertStatus()?.state, "error");
    assert.match(expertStatus()!.message, /no class cobol/);
    await controller.receive({ type: "findExperts", query: "what is this?" });
    assert.match(last("notice")!.message, /Not understood/);
    await controller.receive({ type: "openExpert", expert: "g9:1:1" });
    assert.match(expertStatus()!.message, /no expert g9:1:1 in this model/);
    const dropped = logs.length;
    await controller.receive({ type: "openExpert", expert: "g0:359" });
    await controller.receive({ type: "setExpertScale", expert: X, scale: 11 });
    await controller.receive({ type: "addToExpertSet", expert: X, set: "<script>" });
    assert.equal(logs.slice(dropped).filter((l) => /dropped an invalid message/.test(l)).length, 3);
  });

  it("the effect at the cursor: exact next-token change through the engine process, and both continuations", async () => {
    await controller.receive({ type: "expertEffect", expert: X, scale: 0 });
    const m = last("expertEffect");
    assert.ok(m, JSON.stringify(expertStatus()));
    assert.equal(m.source.file, "fib.py");
    const e = m.effect;
    assert.ok(e.kl > 0.01);
    assert.ok(e.up.length > 0 && e.down.length > 0);
    // The same engine, asked directly: the probabilities the card shows.
    const logits = await ctx.host.nextLogits(PROMPT);
    const max = Math.max(...logits);
    const z = logits.reduce((s, v) => s + Math.exp(v - max), 0);
    assert.ok(Math.abs(e.top1.before.before - Math.exp(logits[e.top1.before.id]! - max) / z) < 1e-6);
    assert.equal(typeof e.continuation?.before, "string");
    const plain = await ctx.host.generate({ prompt: PROMPT, maxTokens: 16, temperature: 0 });
    assert.equal(e.continuation?.before, plain.text);
  });

  it("contexts on demand from the open file", async () => {
    await controller.receive({ type: "expertContexts", expert: X, from: "file" });
    const m = last("expertContexts");
    assert.ok(m, JSON.stringify(expertStatus()));
    assert.equal(m.files, 1);
    assert.ok(m.tokens > 100);
    assert.ok(m.contexts.every((c) => c.path === file && c.score > 0));
    await controller.receive({ type: "expertContexts", expert: X, from: "workspace" });
    assert.match(last("notice")!.message, /no workspace/);
  });

  it("switches: masking the expert reaches completions' steering (with masked languages too), sets, persisted per workspace", async () => {
    await controller.receive({ type: "setExpertScale", expert: X, scale: 0 });
    assert.deepEqual(last("expertSwitches")?.switches.scales, [[X, 0]]);
    const E = 512;
    let s = await ctx.steering();
    assert.deepEqual(s?.groups[0], { indices: [359 * E + 356], scales: [0] });
    assert.deepEqual(s?.groups[1], { indices: [], scales: [] });
    await ctx.masks.set(["lua"]);
    s = await ctx.steering();
    assert.ok(s!.groups[0]!.indices.includes(359 * E + 356), "the expert stays switched beside lua's mask");
    assert.ok(s!.groups[0]!.indices.length > 1000, "lua's experts are masked too");
    assert.match(s!.label, /g0:359:356×0/);
    await ctx.masks.set([]);
    // A completion asks the engine with it (the completion controller asks Ctx.steering()).
    const sent: Array<GenerateParams["steering"]> = [];
    const generate = ctx.host.generate.bind(ctx.host);
    ctx.host.generate = (params, hooks) => {
      sent.push(params.steering);
      return generate(params, hooks);
    };
    await ctx.controller.provide({
      docKey: "file:///w/fib.py",
      languageId: "python",
      textBefore: "def fibonacci(n):\n    ",
      beforeStart: 0,
      textAfter: "",
      tabSize: 4,
      manual: true,
    });
    ctx.host.generate = generate;
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0]?.groups[0], { indices: [359 * E + 356], scales: [0] });
    await controller.receive({ type: "addToExpertSet", expert: X, set: "docstrings" });
    await controller.receive({ type: "addToExpertSet", expert: "g1:2:3", set: "docstrings" });
    assert.deepEqual(last("expertSwitches")?.switches.sets, [{ name: "docstrings", experts: [X, "g1:2:3"] }]);
    await controller.receive({ type: "applyExpertSet", set: "docstrings", scale: 0 });
    assert.deepEqual(last("expertSwitches")?.switches.scales, [
      [X, 0],
      ["g1:2:3", 0],
    ]);
    // Another window on this workspace reads the same switches.
    assert.deepEqual(new ExpertSwitches(memento).current(), last("expertSwitches")!.switches);
    await controller.receive({ type: "applyExpertSet", set: "docstrings", scale: 1 });
    assert.deepEqual(last("expertSwitches")?.switches.scales, []);
    assert.equal(await ctx.steering(), undefined);
    await controller.receive({ type: "applyExpertSet", set: "nope", scale: 0 });
    assert.match(last("notice")!.message, /no expert set "nope"/);
  });
});
