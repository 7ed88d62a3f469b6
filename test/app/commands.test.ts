// The extension's context and commands with a scripted UI, the real engine and the demo
// model: building an atlas from a workspace (progress, cancel, atomic file in the
// extension's storage, active at once), the mask QuickPick and its persistence, masks
// reaching completions and the heatmap, clearing masks, the per-language switch, model
// folder validation, and the status bar along the way.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { Ctx } from "../../src/app/ctx";
import {
  buildWorkspaceAtlas,
  clearMasks,
  parseScaleInput,
  steerLanguages,
  maskLanguages,
  selectModelFolder,
  showMenu,
  toggleLanguage,
} from "../../src/app/commands";
import { commandId } from "../../src/app/command-ids";
import { heatmapDeps } from "../../src/app/heatmap-deps";
import { selectAtlas } from "../../src/app/select-atlas";
import { StatusBar } from "../../src/app/status";
import { MaskStore } from "../../src/app/mask-store";
import type { MonetLensConfig } from "../../src/app/config";
import type { CompletionRequest } from "../../src/completion/request";
import { DEMO_MODEL, SHARED, TEST_CACHE } from "../helpers/fixtures";
import { FakeMemento, FakeUi, fakeStatusItem } from "../helpers/fakes";

const LANGS: Record<string, string> = { python: "py", c: "c", lua: "lua" };
const PY =
  'import os\n\n\ndef read_lines(path):\n    """Return the lines of the file at ' +
  'path."""\n    with open(path) as f:\n        ';

/** A small workspace: about 10 kB of source per language from the shared corpus. */
function makeWorkspace(root: string): void {
  for (const [lang, ext] of Object.entries(LANGS)) {
    const dir = join(SHARED, "corpus", lang);
    mkdirSync(join(root, lang), { recursive: true });
    let total = 0;
    for (const name of readdirSync(dir).sort()) {
      const size = statSync(join(dir, name)).size;
      if (size > 4000) continue;
      copyFileSync(join(dir, name), join(root, lang, `${name.split(".")[0]}.${ext}`));
      total += size;
      if (total > 10_000) break;
    }
  }
  mkdirSync(join(root, "node_modules", "dep"), { recursive: true });
}

describe("context and commands (real engine, demo model)", () => {
  const tmp = mkdtempSync(join(TEST_CACHE, "..", "lens-commands-"));
  const workspace = join(tmp, "workspace");
  const storage = join(tmp, "global-storage");
  const ui = new FakeUi();
  const memento = new FakeMemento();
  const settings: Partial<MonetLensConfig> = {
    modelPath: DEMO_MODEL,
    executionProvider: "cpu",
    maxTokens: 24,
    debounceMs: 0,
    contextTokens: 512,
    idleUnloadMinutes: 0,
  };
  const languageEnable = new Map<string, unknown>();
  const item = fakeStatusItem();
  const status = new StatusBar(
    item,
    (it, r) => {
      it.text = r.text;
      it.tooltip = r.tooltip;
    },
    { engine: { kind: "stopped" }, busy: false, modelName: "", masked: [] },
  );
  let ctx: Ctx;
  const logs: string[] = [];

  before(() => {
    makeWorkspace(workspace);
    ctx = new Ctx({
      ui,
      log: {
        info: (l) => logs.push(l),
        warn: (l) => logs.push(`warn: ${l}`),
        error: (l) => logs.push(`error: ${l}`),
      },
      settings: () => (key) => settings[key],
      enableFor: (lang) => languageEnable.get(lang),
      workspaceState: memento,
      storageDir: storage,
      status,
      engine: { cacheDir: TEST_CACHE },
      shippedAtlasDir: null,
    });
  });
  after(async () => {
    await ctx.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  const complete = (extra: Partial<CompletionRequest> = {}) =>
    ctx.controller.provide({
      docKey: "file:///w/a.py",
      languageId: "python",
      textBefore: PY,
      beforeStart: 0,
      textAfter: "",
      tabSize: 4,
      manual: true,
      ...extra,
    });

  it("the status bar names the model before anything loads", () => {
    assert.match(item.text, /tiny-codemonet/);
    assert.equal(ctx.host.state.kind, "stopped");
  });

  it("masks without an atlas: says so and offers to build one", async () => {
    await maskLanguages(ctx);
    assert.match(ui.messages.at(-1)!.message, /no language atlas for the model tiny-codemonet/);
    assert.match(item.text, /tiny-codemonet · CPU/, "the model was loaded to look for its atlas");
  });

  it("building the atlas can be cancelled; nothing is written", async () => {
    ui.folders = [workspace];
    ui.cancelAfterReports = 1;
    assert.equal(await buildWorkspaceAtlas(ctx), undefined);
    ui.cancelAfterReports = Infinity;
    assert.match(ui.messages.at(-1)!.message, /cancelled; nothing was written/);
    assert.ok(!existsSync(join(storage, "atlases")) || readdirSync(join(storage, "atlases")).length === 0);
  });

  it("builds the atlas from the workspace into the extension's storage; asked about its low quality, the user makes it the active atlas", async () => {
    ui.answer = "Use It";
    const path = await buildWorkspaceAtlas(ctx);
    ui.answer = undefined;
    const asked = ui.messages.find((m) => m.kind === "warn" && /low quality/.test(m.message));
    assert.match(
      asked?.message ?? "",
      /The atlas built from workspace is of low quality: .*few tokens .*Use it anyway\?/,
      "three small files make an atlas of low quality (src/atlas/quality.ts): the user is asked",
    );
    assert.ok(
      path?.startsWith(join(storage, "atlases")) && existsSync(path),
      `written under the global storage: ${path}`,
    );
    assert.deepEqual(
      readdirSync(join(storage, "atlases")).filter((n) => n.includes(".tmp")),
      [],
      "written atomically",
    );
    assert.ok(ui.progress.at(-1)!.reports.length > 0, "progress was reported");
    assert.match(
      ui.messages.at(-1)!.message,
      /language atlas built from workspace: .*c \d+.*lua \d+.*python \d+/,
    );
    const active = await ctx.activeAtlas();
    assert.equal(active?.source, "workspace");
    assert.deepEqual(active?.atlas.languages, ["c", "lua", "python"]);
    assert.match(String(item.tooltip), /Atlas: .*\(workspace\)/);
  });

  it("Select Atlas… lists the atlases with their classes, tokens and quality; a low-quality choice asks first; Browse names a bad file", async () => {
    let listed: Array<{ label: string; description?: string; detail?: string }> = [];
    ui.pick = (items, title) => {
      listed = items.map((i) => ({ label: i.label, description: i.description, detail: i.detail }));
      assert.match(title, /Select the language atlas for tiny-codemonet/);
      return [items[0]!.label];
    };
    ui.answer = "Keep the Current Atlas";
    const before = (await ctx.activeAtlas())?.path;
    await selectAtlas(ctx);
    assert.equal(listed.length, 2, "the workspace atlas, then Browse…");
    assert.match(listed[0]!.label, /^\$\(check\) workspace: .*\.atlas\.json$/, "the active one is checked");
    assert.match(listed[0]!.description ?? "", /^C [\d,]+, Lua [\d,]+, Python [\d,]+ tokens$/);
    assert.match(listed[0]!.detail ?? "", /low quality: .*few tokens/);
    assert.match(listed[1]!.label, /Browse/);
    assert.match(ui.messages.at(-1)!.message, /low quality/);
    assert.equal((await ctx.activeAtlas())?.path, before, "kept: nothing changed");
    ui.answer = undefined;
    // Browse… to a file that is not an atlas: the reason, and nothing changes.
    const notAtlas = join(tmp, "not.atlas.json");
    writeFileSync(notAtlas, "{}");
    ui.pick = (items) => [items.at(-1)!.label];
    ui.file = notAtlas;
    await selectAtlas(ctx);
    assert.match(ui.messages.at(-1)!.message, /not\.atlas\.json cannot be used: /);
    assert.equal((await ctx.activeAtlas())?.path, before);
    ui.pick = () => undefined;
  });

  let plainText: string | undefined;

  it("the mask QuickPick lists the atlas's languages with their expert counts; the choice persists and shows", async () => {
    plainText = (await complete())?.text;
    let listed: string[] = [];
    ui.pick = (items, title) => {
      listed = items.map((i) => `${i.label}: ${i.description}`);
      assert.match(title, /none masked/);
      return ["python"];
    };
    await maskLanguages(ctx);
    assert.equal(listed.length, 3);
    assert.match(listed.find((l) => l.startsWith("python"))!, /^python: [\d,]+ experts \(\d+\.\d %\)$/);
    assert.deepEqual(ctx.masks.current(), ["python"]);
    assert.deepEqual(
      memento.get("monetLens.maskedLanguages"),
      ["python"],
      "persisted in the workspace state",
    );
    assert.match(item.text, /−python/);
    // Opened again: python is shown as masked now.
    ui.pick = (items, title) => {
      assert.match(title, /masked now: python/);
      assert.ok(items.find((i) => i.label === "python")?.picked);
      return undefined; // dismissed: nothing changes
    };
    await maskLanguages(ctx);
    assert.deepEqual(ctx.masks.current(), ["python"]);
  });

  it("masks apply to completions at once, and change them where the model differs", async () => {
    const masked = await complete();
    assert.ok(logs.some((l) => /^masked languages: python$/.test(l)));
    assert.notEqual(
      masked?.text,
      plainText,
      `masked: ${JSON.stringify(masked?.text)}, plain: ${JSON.stringify(plainText)}`,
    );
  });

  it("the heatmap gets routing with the atlas's languages and the masks, and the A/B continuations", async () => {
    const deps = heatmapDeps(ctx);
    assert.deepEqual(
      deps.atlasLanguages()?.map((l) => l.id),
      ["c", "lua", "python"],
    );
    assert.ok(deps.atlasLanguages()!.every((l) => l.experts > 0));
    const data = await deps.route("def f(x):\n    return x + 1\n", deps.masks.current());
    assert.deepEqual(data.languages, ["c", "lua", "python"]);
    assert.deepEqual(data.masked, ["python"]);
    assert.ok(data.tokens.length > 5);
    assert.equal(data.tokens[0]!.shares.length, 3);
    // What a selection longer than the model reads is cut by: its token spans and the model's limit.
    const m = await deps.measure!("def f(x):\n    return x + 1\n");
    assert.equal(m.spans.length, data.tokens.length, "the same tokens as the routing (BOS not counted)");
    assert.deepEqual(
      m.spans,
      data.tokens.map((t) => t.span),
    );
    assert.equal(m.limit, 2048);
    const ab = await deps.compare(PY, ["python"]);
    assert.notDeepEqual(ab.plain.ids, ab.masked.ids);
    assert.equal(ab.plain.pieces.length, ab.plain.ids.length);
    let changed: readonly string[] | undefined;
    const sub = deps.masks.onDidChange((m) => (changed = m));
    await deps.masks.toggle("lua");
    sub.dispose();
    assert.deepEqual(changed, ["lua", "python"]);
  });

  it("Clear Masks: completions are unmasked again (from the cache here)", async () => {
    await clearMasks(ctx);
    assert.deepEqual(ctx.masks.current(), []);
    assert.doesNotMatch(item.text, /−/);
    const again = await complete();
    assert.equal(again?.text, plainText);
    assert.equal(again?.source, "cache");
  });

  it("Steer Language Experts…: a language, then its scale (a preset or typed); applies to completions, shows, persists", async () => {
    const titles: string[] = [];
    ui.pick = (items, title) => {
      titles.push(title);
      if (title.startsWith("Steer Language Experts")) {
        assert.deepEqual(
          items.slice(0, 3).map((i) => `${i.label} ${i.description}`),
          ["c ×1", "lua ×1", "python ×1"],
        );
        return ["lua"];
      }
      if (title.startsWith("Scale of lua's experts")) return ["×2"];
      return undefined;
    };
    await steerLanguages(ctx);
    assert.match(titles[0]!, /\(now: none\)/);
    assert.match(titles[1]!, /now ×1/);
    assert.deepEqual(ctx.masks.scales(), { lua: 2 });
    assert.deepEqual(ctx.masks.current(), [], "a scale of 2 is not a mask");
    assert.match(item.text, /lua×2/);
    assert.match(String(item.tooltip), /Steered languages \(experts' scale\): lua ×2/);
    assert.deepEqual(memento.get("monetLens.languageScales"), { lua: 2 }, "persisted per workspace");
    assert.deepEqual(new MaskStore(memento).scales(), { lua: 2 }, "and read back after a reload");
    const steering = await ctx.steering();
    assert.equal(steering?.label, "lua×2");
    assert.ok(steering!.groups.every((g) => g.scales.every((x) => x === 2)));
    const steered = await complete();
    assert.ok(steered?.text !== undefined, "completions run under the steering");
    assert.ok(logs.some((l) => l === "language steering: lua×2"));

    // Another scale, typed: checked as it is typed; python masked with "×0" keeps lua's scale.
    ui.pick = (_items, title) =>
      title.startsWith("Steer Language Experts")
        ? ["python"]
        : title.startsWith("Scale of")
          ? ["Other scale…"]
          : undefined;
    ui.typed = () => "7.5";
    await steerLanguages(ctx);
    assert.deepEqual(ui.validations.at(-1), undefined);
    assert.deepEqual(ctx.masks.scales(), { lua: 2, python: 7.5 });
    ui.typed = () => "-1";
    await steerLanguages(ctx);
    assert.match(ui.validations.at(-1)!, /number ≥ 0/);
    assert.match(ui.messages.at(-1)!.message, /A scale is a number ≥ 0/);
    assert.deepEqual(ctx.masks.scales(), { lua: 2, python: 7.5 }, "a refused scale changes nothing");
    ui.typed = () => undefined;
    assert.deepEqual(parseScaleInput("×1.5"), { scale: 1.5 });
    assert.match(parseScaleInput("101").error!, /At most 100/);
    assert.match(parseScaleInput("NaN").error!, /number ≥ 0/);

    // The heatmap's deps route and compare under any two settings, with per-token log-probabilities.
    const deps = heatmapDeps(ctx);
    const routed = await deps.route("local x = 1\n", { lua: 0, python: 2 });
    assert.deepEqual(routed.masked, ["lua"]);
    const ab = await deps.compare(PY, { a: {}, b: { python: 0, lua: 3 } });
    for (const side of [ab.plain, ab.masked]) {
      assert.equal(side.logprobs?.own.length, side.ids.length);
      assert.equal(side.logprobs?.other.length, side.ids.length);
      assert.ok(side.logprobs!.own.every((x) => Number.isFinite(x) && x <= 0));
    }
    // The two settings score the same tokens differently.
    assert.notDeepEqual(ab.plain.logprobs!.own, ab.plain.logprobs!.other);

    // Reset from the same command.
    ui.pick = (_items, title) =>
      title.startsWith("Steer Language Experts") ? ["$(clear-all) Reset every language to ×1"] : undefined;
    await steerLanguages(ctx);
    assert.deepEqual(ctx.masks.scales(), {});
    assert.doesNotMatch(item.text, /lua×2/);
  });

  it("per-language switch: writes monetLens.enable for the language", async () => {
    ctx.setActiveLanguage("python");
    await toggleLanguage(ctx);
    assert.deepEqual(ui.settings.at(-1), { key: "enable", value: false, languageId: "python" });
    languageEnable.set("python", false);
    ctx.setActiveLanguage("python");
    assert.equal(ctx.enabledFor("python"), false);
    assert.match(item.text, /off$/);
    assert.equal(ctx.enabledFor("lua"), true);
  });

  it("Select Model Folder rejects a folder that is not a checkpoint, naming the problem", async () => {
    ui.folder = workspace;
    await selectModelFolder(ctx);
    assert.match(
      ui.messages.at(-1)!.message,
      /^Monet Lens: this folder is not a usable CodeMonet checkpoint: .*config\.json/,
      "the reason first",
    );
    assert.ok(!ui.settings.some((s) => s.key === "modelPath"));
  });

  it("Select Model Folder loads a valid checkpoint with progress and saves the setting", async () => {
    ui.folder = DEMO_MODEL;
    await selectModelFolder(ctx);
    assert.deepEqual(ui.settings.at(-1), { key: "modelPath", value: DEMO_MODEL, languageId: undefined });
    assert.match(ui.messages.at(-1)!.message, /running tiny-codemonet on cpu/);
    assert.equal(ctx.host.state.kind, "ready");
  });

  it("the status bar menu runs the chosen command", async () => {
    ui.pick = () => ["$(book) Build Language Atlas from Workspace"];
    await showMenu(ctx);
    assert.deepEqual(ui.commands.at(-1), { id: commandId("buildAtlas"), args: [] });
  });
});

describe("a model that cannot load (real engine process)", () => {
  it("fails clearly once: red status, an error with the cause and the way out, no retry on every keystroke", async () => {
    const empty = mkdtempSync(join(TEST_CACHE, "..", "lens-empty-model-"));
    const ui = new FakeUi();
    const logs: string[] = [];
    const item = fakeStatusItem();
    let severity = "";
    const status = new StatusBar(
      item,
      (it, r) => {
        it.text = r.text;
        severity = r.severity;
      },
      { engine: { kind: "stopped" }, busy: false, modelName: "", masked: [] },
    );
    const ctx = new Ctx({
      ui,
      log: { info: (l) => logs.push(l), warn: (l) => logs.push(l), error: (l) => logs.push(`error: ${l}`) },
      settings: () => (key) =>
        (({ modelPath: empty, executionProvider: "cpu" }) as Record<string, unknown>)[key],
      enableFor: () => undefined,
      workspaceState: new FakeMemento(),
      storageDir: join(empty, "storage"),
      status,
      engine: { cacheDir: TEST_CACHE },
      shippedAtlasDir: null,
    });
    try {
      const req = {
        docKey: "a",
        languageId: "python",
        textBefore: "x = ",
        beforeStart: 0,
        textAfter: "",
        tabSize: 4,
        manual: true,
      };
      assert.equal(await ctx.controller.provide(req), undefined);
      assert.equal(await ctx.controller.provide(req), undefined);
      assert.equal(ctx.host.state.kind, "failed");
      assert.equal(severity, "error");
      assert.match(item.text, /failed/);
      const errors = ui.messages.filter((m) => m.kind === "error");
      assert.equal(errors.length, 1, "said once");
      assert.match(errors[0]!.message, /could not be loaded: .*config\.json/);
      assert.equal(
        logs.filter((l) => l.startsWith("error: completion failed")).length,
        1,
        "logged once, not on every request",
      );
      assert.match(ctx.lastSkipReason ?? "", /could not be loaded/);
    } finally {
      await ctx.dispose();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
