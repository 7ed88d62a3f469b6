// The routing view's extension side without VS Code: the controller with a fake host and
// fake deps — message validation, routing and recomputing, mask toggles in sync, row
// selection with CRLF, pinned follow with debounce, cancellation, states, the A/B view.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  classifyError,
  HeatmapController,
  promptBefore,
  type ControllerHost,
  type CursorContext,
  type EditorTarget,
  type Found,
} from "../../src/heatmap/controller";
import type { HeatmapDeps } from "../../src/heatmap/deps";
import type { ToWebview } from "../../src/heatmap-shared/messages";
import type { RouteData } from "../../src/heatmap-shared/route-data";
import type { LanguageScales } from "../../src/heatmap-shared/steer";
import type { LanguageSteer } from "../../src/heatmap/deps";

/** The masked languages of a list or of scales (those at 0). */
function maskedOf(steer: LanguageSteer): string[] {
  return Array.isArray(steer)
    ? [...steer]
    : Object.keys(steer).filter((l) => (steer as LanguageScales)[l] === 0);
}

/** One token per UTF-16 unit of `text`, python holding 0.5 of each unless masked. */
function routeFor(text: string, masked: readonly string[]): RouteData {
  const py = masked.includes("python") ? 0 : 0.5;
  return {
    model: "m",
    atlas: "a.atlas.json",
    languages: ["lua", "python"],
    masked: [...masked],
    groups: 1,
    tokens: Array.from(text, (ch, k) => ({
      id: k,
      text: ch,
      piece: ch,
      span: [k, k + 1] as [number, number],
      shares: [0.1, py],
      groupShares: [[0.1, py]],
      dominant: py ? "python" : "lua",
      top: [],
    })),
  };
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setImmediate(r));

function target(text: string, base = 0, version = 1, uri = "file:///w/a.py"): Found<EditorTarget> {
  return {
    ok: true,
    value: {
      uri,
      version,
      text,
      base,
      source: { file: "a.py", startLine: 1, endLine: 2, kind: "selection" },
    },
  };
}

function setup(opts: { pinned?: boolean } = {}) {
  const posted: ToWebview[] = [];
  const logs: string[] = [];
  const selects: Array<[string, number, number, number]> = [];
  /** The signal of each route and compare run, in order. */
  const signals: AbortSignal[] = [];
  const timers: Array<{ f: () => void; ms: number; cleared: boolean }> = [];
  const routeCalls: Array<{ text: string; masked: readonly string[] }> = [];
  const compareCalls: Array<{ prompt: string; masked: readonly string[] }> = [];
  const toggles: string[] = [];
  const scaleCalls: Array<[string, number]> = [];
  const sideCalls: Array<{ a: LanguageScales; b: LanguageScales }> = [];
  const scaled: Record<string, number> = {};
  let masked: string[] = [];
  const listeners = new Set<(m: readonly string[]) => unknown>();
  const state = {
    target: target("def f():\r\n    return 1") as Found<EditorTarget>,
    cursor: {
      ok: true,
      value: {
        uri: "file:///w/a.py",
        version: 1,
        prompt: "def f():\n",
        source: { file: "a.py", startLine: 2, endLine: 2, kind: "cursor" },
      },
    } as Found<CursorContext>,
    visible: true,
    selectResult: "ok" as "ok" | "changed" | "closed",
    /** When set, route() waits for the test to settle it. */
    pendingRoutes: undefined as Array<Deferred<RouteData>> | undefined,
    routeError: undefined as unknown,
    /** The model's limit for measure() (BOS included); one token per UTF-16 unit. */
    limit: 2048,
  };
  const saved: Array<{ name: string; data: string | Uint8Array }> = [];
  const commands: string[] = [];
  const host: ControllerHost = {
    post: (m) => void posted.push(m),
    findTarget: async () => state.target,
    cursorContext: () => state.cursor,
    select: async (uri, version, start, end) => {
      selects.push([uri, version, start, end]);
      return state.selectResult;
    },
    visible: () => state.visible,
    saveFile: async (name, data) => {
      saved.push({ name, data });
      return `/w/${name}`;
    },
    runCommand: async (action) => void commands.push(action),
  };
  const deps: HeatmapDeps = {
    measure: async (text) => ({
      spans: Array.from(text, (_, k): [number, number] => [k, k + 1]),
      limit: state.limit,
    }),
    route: async (text, steer, signal) => {
      const m = maskedOf(steer);
      routeCalls.push({ text, masked: m });
      if (signal) signals.push(signal);
      if (state.routeError !== undefined) throw state.routeError;
      if (state.pendingRoutes) {
        const d = deferred<RouteData>();
        state.pendingRoutes.push(d);
        return d.promise;
      }
      return routeFor(text, m);
    },
    compare: async (prompt, sides, signal) => {
      compareCalls.push({
        prompt,
        masked: Array.isArray(sides) ? [...sides] : maskedOf((sides as { b: LanguageScales }).b),
      });
      if (!Array.isArray(sides)) sideCalls.push(sides as { a: LanguageScales; b: LanguageScales });
      if (signal) signals.push(signal);
      return {
        plain: { text: " 1", ids: [1], pieces: ["▁1"] },
        masked: { text: " 2", ids: [2], pieces: ["▁2"] },
      };
    },
    masks: {
      current: () => masked,
      scales: () => ({ ...Object.fromEntries(masked.map((l) => [l, 0])), ...scaled }),
      setScale: async (language, scale) => {
        scaleCalls.push([language, scale]);
        masked = masked.filter((x) => x !== language);
        delete scaled[language];
        if (scale === 0) masked = [...masked, language];
        else if (scale !== 1) scaled[language] = scale;
        for (const f of listeners) f(masked);
      },
      toggle: async (language) => {
        toggles.push(language);
        masked = masked.includes(language) ? masked.filter((x) => x !== language) : [...masked, language];
        for (const f of listeners) f(masked);
      },
      onDidChange: (f: (m: readonly string[]) => unknown) => {
        listeners.add(f);
        return { dispose: () => void listeners.delete(f) };
      },
    },
    atlasLanguages: () => [
      { id: "lua", experts: 5 },
      { id: "python", experts: 9 },
    ],
    log: (line) => void logs.push(line),
  };
  const c = new HeatmapController(host, deps, {
    pinned: opts.pinned ?? true,
    setTimer: (f, ms) => {
      const t = { f, ms, cleared: false };
      timers.push(t);
      return t;
    },
    clearTimer: (h) => {
      (h as { cleared: boolean }).cleared = true;
    },
  });
  // As registerHeatmap wires it.
  deps.masks.onDidChange(() => c.masksChanged());
  const of = <T extends ToWebview["type"]>(type: T) =>
    posted.filter((m): m is Extract<ToWebview, { type: T }> => m.type === type);
  const fire = async () => {
    const live = timers.filter((t) => !t.cleared);
    timers.length = 0;
    for (const t of live) t.f();
    await tick();
  };
  return {
    c,
    posted,
    logs,
    selects,
    signals,
    timers,
    routeCalls,
    compareCalls,
    scaleCalls,
    sideCalls,
    toggles,
    state,
    saved,
    commands,
    of,
    fire,
    setMasked: (m: string[]) => (masked = m),
  };
}

describe("routing view controller", () => {
  it("on ready: init, masks, then routes the editor's selection with the current masks", async () => {
    const t = setup();
    await t.c.receive({ type: "ready" });
    assert.deepEqual(t.posted.slice(0, 2), [
      { type: "init", pinned: true, tab: "heatmap" },
      { type: "masks", masked: [], atlasLanguages: ["lua", "python"], scales: {} },
    ]);
    assert.deepEqual(t.routeCalls, [{ text: "def f():\r\n    return 1", masked: [] }]);
    assert.deepEqual(
      t.of("status").map((s) => s.state),
      ["computing", "idle"],
    );
    const r = t.of("route");
    assert.equal(r.length, 1);
    assert.equal(r[0]!.data.tokens.length, 22);
    // Reloaded page (shown again): the same data is sent again, not recomputed.
    await t.c.receive({ type: "ready" });
    assert.equal(t.routeCalls.length, 1);
    assert.equal(t.of("route").length, 2);
  });

  it("logs and drops every invalid message without acting on it", async () => {
    const t = setup();
    for (const m of [
      null,
      "refresh",
      { type: "refresh", x: 1 },
      { type: "toggleMask", language: "<b>" },
      { type: "selectTokens", seq: 0, from: 3, to: 2 },
      { type: "nope" },
    ])
      await t.c.receive(m);
    assert.equal(t.posted.length, 0);
    assert.equal(t.routeCalls.length + t.toggles.length + t.selects.length, 0);
    assert.equal(t.logs.length, 6);
    assert.ok(t.logs.every((l) => l.startsWith("heatmap: dropped an invalid message from the webview: ")));
  });

  it("a header click toggles the mask; the mask change re-routes the code shown (not the editor's new selection)", async () => {
    const t = setup();
    await t.c.receive({ type: "ready" });
    t.state.target = target("x");
    await t.c.receive({ type: "toggleMask", language: "python" });
    await tick();
    assert.deepEqual(t.toggles, ["python"]);
    assert.deepEqual(t.of("masks").at(-1), {
      type: "masks",
      masked: ["python"],
      atlasLanguages: ["lua", "python"],
      scales: { python: 0 },
    });
    assert.deepEqual(t.routeCalls.at(-1), { text: "def f():\r\n    return 1", masked: ["python"] });
    assert.deepEqual(t.of("route").at(-1)!.data.masked, ["python"]);
    // A language the atlas lacks is refused, with a notice, and the page gets the masks again.
    await t.c.receive({ type: "toggleMask", language: "cobol" });
    assert.deepEqual(t.toggles, ["python"]);
    assert.match(t.of("notice").at(-1)!.message, /no language "cobol"/);
    assert.match(t.logs.at(-1)!, /not a language of the active atlas/);
  });

  it("masks toggled elsewhere (palette, status bar) update the view too", async () => {
    const t = setup();
    await t.c.receive({ type: "ready" });
    t.setMasked(["lua"]);
    t.c.masksChanged();
    await tick();
    assert.deepEqual(t.of("masks").at(-1)!.masked, ["lua"]);
    assert.deepEqual(t.routeCalls.at(-1)!.masked, ["lua"]);
  });

  it("a row click selects its tokens' range (CRLF kept whole), and that selection does not re-route", async () => {
    const t = setup();
    t.state.target = target("ab\r\ncd", 100, 7);
    await t.c.receive({ type: "ready" });
    const seq = t.of("route")[0]!.seq;
    await t.c.receive({ type: "selectTokens", seq, from: 2, to: 3 }); // the "\r" token
    assert.deepEqual(t.selects, [["file:///w/a.py", 7, 102, 104]]);
    await t.c.receive({ type: "selectTokens", seq, from: 0, to: 6 });
    assert.deepEqual(t.selects[1], ["file:///w/a.py", 7, 100, 106]);
    t.c.selectionChanged({ uri: "file:///w/a.py", start: 100, end: 106 });
    assert.equal(t.timers.length, 0, "our own selection is ignored");
    t.c.selectionChanged({ uri: "file:///w/a.py", start: 100, end: 101 });
    assert.equal(t.timers.length, 1, "the user's next selection is followed");
    // Stale or out-of-range rows are dropped.
    await t.c.receive({ type: "selectTokens", seq: seq + 99, from: 0, to: 1 });
    await t.c.receive({ type: "selectTokens", seq, from: 0, to: 7 });
    assert.equal(t.selects.length, 2);
    assert.match(t.logs.at(-2)!, /dropped selectTokens for data/);
    assert.match(t.logs.at(-1)!, /the data has 6 tokens/);
  });

  it("a row click on a changed document says so and recomputes", async () => {
    const t = setup();
    await t.c.receive({ type: "ready" });
    t.state.selectResult = "changed";
    t.state.target = target("new text", 0, 2);
    await t.c.receive({ type: "selectTokens", seq: t.of("route")[0]!.seq, from: 0, to: 1 });
    assert.match(t.of("notice").at(-1)!.message, /changed since/);
    assert.equal(t.routeCalls.at(-1)!.text, "new text");
  });

  it("follows the selection when pinned, debounced, and only when the code to route changed", async () => {
    const t = setup();
    await t.c.receive({ type: "ready" });
    for (let k = 0; k < 5; k++) t.c.selectionChanged({ uri: "u", start: k, end: k + 3 });
    assert.equal(t.timers.filter((x) => !x.cleared).length, 1, "one pending recompute");
    assert.equal(t.timers.at(-1)!.ms, 400);
    t.c.selectionChanged({ uri: "u", start: 6, end: 8, editing: true });
    assert.equal(t.timers.at(-1)!.ms, 1500, "a longer pause while typing");
    t.state.target = target("y = 2");
    await t.fire();
    assert.equal(t.routeCalls.length, 2);
    assert.equal(t.routeCalls[1]!.text, "y = 2");
    t.c.selectionChanged({ uri: "u", start: 9, end: 11 });
    await t.fire();
    assert.equal(t.routeCalls.length, 2, "the same code again: nothing to do");
    t.c.selectionChanged({ uri: "u", start: 9, end: 9 });
    t.c.selectionChanged({ uri: "u", start: 12, end: 12, editing: true });
    assert.equal(t.timers.length, 0, "a plain click or typing (an empty selection) keeps the view");
    await t.c.receive({ type: "setPinned", pinned: false });
    t.c.selectionChanged({ uri: "u", start: 1, end: 2 });
    assert.equal(t.timers.length, 0, "unpinned: the selection is not followed");
    await t.c.receive({ type: "refresh" });
    assert.equal(t.routeCalls.length, 3, "refresh routes even the same code");
  });

  it("a newer run cancels the older one, whose result is dropped", async () => {
    const t = setup();
    t.state.pendingRoutes = [];
    const first = t.c.receive({ type: "ready" });
    await tick();
    t.state.target = target("second");
    const second = t.c.receive({ type: "refresh" });
    await tick();
    assert.equal(t.signals[0]!.aborted, true);
    assert.equal(t.signals[1]!.aborted, false);
    t.state.pendingRoutes[0]!.resolve(routeFor("first", []));
    t.state.pendingRoutes[1]!.resolve(routeFor("second", []));
    await Promise.all([first, second]);
    const routes = t.of("route");
    assert.equal(routes.length, 1);
    assert.equal(routes[0]!.data.tokens.length, 6);
  });

  it("shows no-model, error and no-selection states", async () => {
    const t = setup();
    t.state.routeError = Object.assign(new Error("No CodeMonet model: set monetLens.modelPath"), {
      code: "NO_MODEL",
    });
    await t.c.receive({ type: "ready" });
    assert.deepEqual(t.of("status").at(-1), {
      type: "status",
      view: "heatmap",
      state: "noModel",
      message: "No CodeMonet model: set monetLens.modelPath",
      actions: [
        { action: "selectModelFolder", label: "Select Model Folder…" },
        { action: "showLog", label: "Show Log" },
      ],
    });
    t.state.routeError = new Error("the text has 3000 tokens; the model reads at most 2048 at once");
    await t.c.receive({ type: "refresh" });
    assert.equal(t.of("status").at(-1)!.state, "error");
    assert.match(t.logs.at(-1)!, /routing failed: the text has 3000 tokens/);
    t.state.target = { ok: false, reason: "Nothing is selected and line 3 is not inside a function." };
    await t.c.receive({ type: "refresh" });
    assert.deepEqual(t.of("status").at(-1), {
      type: "status",
      view: "heatmap",
      state: "noSelection",
      message: "Nothing is selected and line 3 is not inside a function.",
    });
    t.state.target = target("   \r\n ");
    await t.c.receive({ type: "refresh" });
    assert.match(t.of("status").at(-1)!.message, /blank/);
    t.state.target = target("x".repeat(2_000_001));
    await t.c.receive({ type: "refresh" });
    assert.match(t.of("status").at(-1)!.message, /2,000,001 characters/);
    assert.deepEqual(classifyError("boom"), { state: "error", message: "boom" });
  });

  it("A/B: nothing to compare without masks; with masks, both continuations at the cursor", async () => {
    const t = setup();
    await t.c.receive({ type: "ready" });
    await t.c.receive({ type: "setTab", tab: "ab" });
    assert.equal(t.compareCalls.length, 0);
    assert.equal(t.of("status").at(-1)!.state, "noMasks");
    await t.c.receive({ type: "toggleMask", language: "lua" });
    await tick();
    assert.deepEqual(t.compareCalls, [{ prompt: "def f():\n", masked: ["lua"] }]);
    const m = t.of("compare").at(-1)!;
    assert.deepEqual(
      [m.plain.text, m.maskedResult.text, m.masked, m.promptTail],
      [" 1", " 2", ["lua"], "def f():\n"],
    );
    await t.c.receive({ type: "runCompare" });
    assert.equal(t.compareCalls.length, 2, "run again on request");
  });

  it("sliders: a validated setScale steers the language, re-routes with the scales and updates the view", async () => {
    const t = setup();
    await t.c.receive({ type: "ready" });
    await tick();
    const routes = t.routeCalls.length;
    await t.c.receive({ type: "setScale", language: "python", scale: 1.5 });
    await tick();
    assert.deepEqual(t.scaleCalls, [["python", 1.5]]);
    assert.deepEqual(t.of("masks").at(-1)!.scales, { python: 1.5 });
    assert.equal(t.routeCalls.length, routes + 1, "the code shown is routed again under the new scales");
    await t.c.receive({ type: "setScale", language: "lua", scale: 0 });
    await tick();
    assert.deepEqual(t.of("masks").at(-1)!.masked, ["lua"], "scale 0 is a mask");
    for (const bad of [
      { type: "setScale", language: "python", scale: -1 },
      { type: "setScale", language: "python", scale: Number.NaN },
      { type: "setScale", language: "python", scale: Number.POSITIVE_INFINITY },
      { type: "setScale", language: "python", scale: 101 },
      { type: "setScale", language: "python", scale: "2" },
      { type: "setScale", language: "py thon", scale: 2 },
      { type: "setScale", language: "python" },
      { type: "setScale", language: "python", scale: 2, extra: 1 },
      { type: "setCompareSides", a: "none", b: "everything" },
    ])
      await t.c.receive(bad);
    assert.equal(t.scaleCalls.length, 2, "invalid messages do nothing");
    assert.equal(t.logs.filter((l) => /dropped an invalid message/.test(l)).length, 9);
    await t.c.receive({ type: "setScale", language: "cobol", scale: 2 });
    assert.equal(t.scaleCalls.length, 2);
    assert.match(t.of("notice").at(-1)!.message, /no language "cobol"/);
  });

  it("A/B: any two settings (none, current, saved), with their labels; the same setting twice is not run", async () => {
    const t = setup();
    await t.c.receive({ type: "ready" });
    assert.deepEqual(t.of("compareSides").at(-1), {
      type: "compareSides",
      a: "none",
      b: "current",
      saved: null,
    });
    await t.c.receive({ type: "setTab", tab: "ab" });
    await t.c.receive({ type: "setScale", language: "python", scale: 2 });
    await tick();
    assert.deepEqual(t.sideCalls.at(-1), { a: {}, b: { python: 2 } });
    let m = t.of("compare").at(-1)!;
    assert.deepEqual([m.sides?.a.label, m.sides?.b.label], ["none", "python×2"]);
    await t.c.receive({ type: "saveSteering" });
    assert.deepEqual(t.of("compareSides").at(-1)!.saved, { python: 2 });
    await t.c.receive({ type: "setCompareSides", a: "saved", b: "current" });
    assert.equal(t.of("status").at(-1)!.state, "noMasks", "saved and current are the same now");
    assert.match(t.of("status").at(-1)!.message, /same setting \(python×2\)/);
    await t.c.receive({ type: "setScale", language: "lua", scale: 0 });
    await tick();
    assert.deepEqual(t.sideCalls.at(-1), { a: { python: 2 }, b: { lua: 0, python: 2 } });
    m = t.of("compare").at(-1)!;
    assert.deepEqual([m.sides?.a.side, m.sides?.b.label], ["saved", "−lua, python×2"]);
  });

  it("a hidden panel recomputes when shown again", async () => {
    const t = setup();
    await t.c.receive({ type: "ready" });
    t.state.visible = false;
    t.state.target = target("later");
    t.c.selectionChanged({ uri: "u", start: 0, end: 5 });
    assert.equal(t.timers.length, 0);
    t.state.visible = true;
    t.c.visibilityChanged(true);
    await tick();
    assert.equal(t.routeCalls.at(-1)!.text, "later");
  });

  it("after dispose, runs are cancelled and messages ignored", async () => {
    const t = setup();
    t.state.pendingRoutes = [];
    void t.c.receive({ type: "ready" });
    await tick();
    t.c.dispose();
    assert.equal(t.signals[0]!.aborted, true);
    await t.c.receive({ type: "refresh" });
    assert.equal(t.routeCalls.length, 1);
  });

  it("never loses the user's place: a followed selection with nothing to route keeps the view; Refresh says why", async () => {
    const t = setup();
    await t.c.receive({ type: "ready" });
    assert.equal(t.of("route").length, 1);
    const statuses = t.of("status").length;
    t.state.target = { ok: false, reason: "Nothing is selected and line 3 is not inside a function." };
    t.c.selectionChanged({ uri: "u", start: 0, end: 4 });
    await t.fire();
    assert.equal(t.of("status").length, statuses, "nothing posted: the view stays as it was");
    t.state.target = target("  \n");
    t.c.selectionChanged({ uri: "u", start: 0, end: 3 });
    await t.fire();
    assert.equal(t.of("status").length, statuses, "a blank selection keeps it too");
    t.state.target = { ok: false, reason: "Nothing is selected and line 3 is not inside a function." };
    await t.c.receive({ type: "refresh" });
    assert.equal(t.of("status").at(-1)!.state, "noSelection");
    // The page is reloaded: it gets the last view back.
    t.posted.length = 0;
    await t.c.receive({ type: "ready" });
    assert.equal(t.of("route").length, 1, "the route is still held");
  });

  it("a selection longer than the model reads: offers the first tokens or the window around the cursor, and says which part is shown", async () => {
    const t = setup();
    t.state.limit = 11; // 10 tokens after BOS
    const text = "abcdefghijklmnopqrstuvwxyz0123456789";
    t.state.target = target(text);
    (t.state.target as { value: EditorTarget }).value.cursor = 20;
    await t.c.receive({ type: "ready" });
    assert.equal(t.routeCalls.length, 0, "nothing routed before the user chooses");
    const s = t.of("status").at(-1)!;
    assert.equal(s.state, "tooLong");
    assert.match(s.message, /has 36 tokens; the model reads 10 at once/);
    assert.deepEqual(
      s.actions?.map((a) => a.action),
      ["routeStart", "routeCursor"],
    );
    await t.c.receive({ type: "action", action: "routeStart" });
    assert.equal(t.routeCalls.at(-1)!.text, "abcdefghij");
    assert.deepEqual(t.of("route").at(-1)!.source.part, { which: "start", tokens: 10, of: 36 });
    await t.c.receive({ type: "action", action: "routeCursor" });
    assert.equal(
      t.routeCalls.at(-1)!.text,
      "pqrstuvwxy",
      "five tokens either side of the cursor (offset 20)",
    );
    assert.deepEqual(t.of("route").at(-1)!.source.part, { which: "cursor", tokens: 10, of: 36 });
    // A row of the part selects document offsets (base + the part's start).
    await t.c.receive({ type: "selectTokens", seq: t.of("route").at(-1)!.seq, from: 0, to: 2 });
    assert.deepEqual(t.selects.at(-1), ["file:///w/a.py", 1, 15, 17]);
    // The same long selection followed again keeps the chosen part.
    const routes = t.routeCalls.length;
    t.c.selectionChanged({ uri: "u", start: 0, end: 36 });
    await t.fire();
    assert.equal(t.routeCalls.length, routes);
    assert.equal(t.of("status").at(-1)!.state, "idle");
  });

  it("status buttons run their command; exports go to the save dialog (JSON and CSV from the extension's data)", async () => {
    const t = setup();
    await t.c.receive({ type: "exportData", format: "csv" });
    assert.match((t.posted.at(-1) as { message: string }).message, /no routing data to export/);
    await t.c.receive({ type: "ready" });
    await t.c.receive({ type: "action", action: "selectAtlas" });
    await t.c.receive({ type: "action", action: "buildAtlas" });
    assert.deepEqual(t.commands, ["selectAtlas", "buildAtlas"]);
    await t.c.receive({ type: "exportData", format: "csv" });
    await t.c.receive({ type: "exportData", format: "json" });
    await t.c.receive({ type: "exportImage", format: "svg", data: "<svg></svg>" });
    await t.c.receive({ type: "exportImage", format: "png", data: "iVBORw0KGgo=" });
    assert.deepEqual(
      t.saved.map((x) => x.name),
      ["a.py-routing.csv", "a.py-routing.json", "a.py-routing.svg", "a.py-routing.png"],
    );
    const csv = t.saved[0]!.data as string;
    assert.match(
      csv,
      /^token,start,end,text,id,share_lua,share_python,share_unowned,lift_lua,lift_python,dominant\r\n/,
    );
    assert.equal(csv.trim().split("\r\n").length, 1 + 22, "a header and one line per token");
    assert.match(csv, /\r\n0,0,1,d,0,0\.1,0\.5,,,,python\r\n/);
    assert.ok(csv.includes(',"\r",') && csv.includes(',"\n",'), "a line break in a token's text is quoted");
    assert.equal(JSON.parse(t.saved[1]!.data as string).tokens.length, 22);
    assert.deepEqual(
      [...(t.saved[3]!.data as Uint8Array).subarray(0, 4)],
      [0x89, 0x50, 0x4e, 0x47],
      "PNG bytes",
    );
    assert.match((t.posted.at(-1) as { message: string }).message, /^Saved \/w\/a\.py-routing\.png$/);
  });

  it("gives the A/B view at most the last few thousand characters before the cursor, from a line start", () => {
    assert.equal(promptBefore("abc", 10), "abc");
    const long = `${"x".repeat(50)}\n${"y".repeat(20)}\nzz`;
    assert.equal(promptBefore(long, 30), `${"y".repeat(20)}\nzz`);
    assert.equal(promptBefore("q".repeat(40), 10), "q".repeat(10));
  });
});
