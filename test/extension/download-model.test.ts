// `Monet Lens: Download Model…` at the extension host's level: the context and commands with a
// scripted UI, the real download code (src/hub's pull) against the loopback Hub (test/hub/
// fake-hub.ts, serving the demo model), and the real engine process running what was
// downloaded. Also: monetLens.modelPath as a repo id, resolved from the cache at start, and
// a missing one failing once with the offer to download it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Ctx } from "../../src/app/ctx";
import { commandId } from "../../src/app/command-ids";
import { readConfig, type MonetLensConfig } from "../../src/app/config";
import { downloadModel, OTHER_MODEL_LABEL, USE_IT } from "../../src/app/download-model";
import { showMenu } from "../../src/app/commands";
import { StatusBar } from "../../src/app/status";
import { PUBLISHED_MODELS } from "../../src/hub/published-models";
import { DEMO_MODEL, TEST_CACHE } from "../helpers/fixtures";
import { FakeMemento, FakeUi, fakeStatusItem } from "../helpers/fakes";
import { repoFromFolder, startFakeHub, type FakeHub, type FakeRepo } from "../hub/fake-hub";

const REPO = "MonetLLM/tiny-codemonet-test";
const SLOW_REPO = "MonetLLM/slow-test";
const HF_VARS = ["HF_ENDPOINT", "HF_HUB_CACHE", "HF_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE"] as const;

describe("Download Model… (scripted UI, loopback Hub, real engine)", () => {
  const tmp = mkdtempSync(join(TEST_CACHE, "..", "lens-download-"));
  const hubCache = join(tmp, "hf-cache");
  const saved = Object.fromEntries(HF_VARS.map((k) => [k, process.env[k]]));
  let hub: FakeHub;
  let repo: FakeRepo;
  const contexts: Ctx[] = [];

  before(async () => {
    repo = repoFromFolder(REPO, DEMO_MODEL, { "modeling_monet.py": "raise SystemExit\n" });
    hub = await startFakeHub([repo, repoFromFolder(SLOW_REPO, DEMO_MODEL, {}, { commit: "c".repeat(40) })]);
    // The extension reads the Hugging Face variables as huggingface_hub does.
    process.env.HF_ENDPOINT = hub.url;
    process.env.HF_HUB_CACHE = hubCache;
    process.env.HF_TOKEN_PATH = join(tmp, "no-token");
    delete process.env.HF_TOKEN;
    delete process.env.HF_HUB_OFFLINE;
  });
  after(async () => {
    for (const c of contexts) await c.dispose();
    await hub.close();
    for (const k of HF_VARS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  function newCtx(settings: Partial<MonetLensConfig>) {
    const ui = new FakeUi();
    const logs: string[] = [];
    const item = fakeStatusItem();
    const status = new StatusBar(
      item,
      (it, r) => {
        it.text = r.text;
      },
      { engine: { kind: "stopped" }, busy: false, modelName: "", masked: [] },
    );
    const all: Partial<MonetLensConfig> = { executionProvider: "cpu", idleUnloadMinutes: 0, ...settings };
    const ctx = new Ctx({
      ui,
      log: {
        info: (l) => logs.push(l),
        warn: (l) => logs.push(`warn: ${l}`),
        error: (l) => logs.push(`error: ${l}`),
      },
      settings: () => (key) => all[key],
      enableFor: () => undefined,
      workspaceState: new FakeMemento(),
      storageDir: join(tmp, "storage"),
      status,
      engine: { cacheDir: TEST_CACHE },
      shippedAtlasDir: null,
    });
    // What VS Code does when the command writes a setting: the context reads it again.
    ui.updateSetting = async (key, value) => {
      ui.settings.push({ key, value });
      (all as Record<string, unknown>)[key] = value;
      await ctx.configChanged((k) => k === key);
    };
    contexts.push(ctx);
    return { ctx, ui, logs, item };
  }

  const complete = (ctx: Ctx) =>
    ctx.controller.provide({
      docKey: "file:///w/a.py",
      languageId: "python",
      textBefore: "def add(a, b):\n    ",
      beforeStart: 0,
      textAfter: "",
      tabSize: 4,
      manual: true,
    });

  it("the QuickPick lists the published models, CodeMonet 1.4B first and recommended, with sizes, and another repo", async () => {
    const { ctx, ui } = newCtx({});
    let shown: Array<{ label: string; description?: string; detail?: string }> = [];
    ui.pick = (items) => {
      shown = [...items];
      return undefined; // dismissed: nothing happens
    };
    assert.equal(await downloadModel(ctx), undefined);
    assert.equal(shown.length, PUBLISHED_MODELS.length + 1);
    assert.match(shown[0]!.label, /CodeMonet-VD 1\.4B/);
    assert.match(shown[0]!.description!, /^2\.93 GB · recommended for code/);
    assert.match(shown[0]!.detail!, /^MonetLLM\/codemonet-vd-1\.4B-100BT-hf: /);
    for (const [i, m] of PUBLISHED_MODELS.entries())
      assert.ok(shown[i]!.description!.startsWith(m.size), m.repo);
    assert.equal(shown.at(-1)!.label, OTHER_MODEL_LABEL);
    assert.equal(ui.progress.length, 0, "nothing downloaded");
  });

  it("the status bar menu offers it", async () => {
    const { ctx, ui } = newCtx({});
    ui.pick = (items) => [items.find((i) => /Download Model/.test(i.label))!.label];
    await showMenu(ctx);
    assert.deepEqual(ui.commands.at(-1), { id: commandId("downloadModel"), args: [] });
  });

  it("a repo id typed in is checked, downloaded with progress (bytes, speed, time left) and, when chosen, runs", async () => {
    const { ctx, ui, logs } = newCtx({});
    ui.pick = () => [OTHER_MODEL_LABEL];
    ui.inputAnswer = "not a repo id";
    assert.equal(await downloadModel(ctx), undefined);
    assert.equal(ui.inputs.at(-1)!.refused, "expected org/name or org/name@revision");

    ui.inputAnswer = ` ${REPO} `;
    ui.infoAnswer = USE_IT;
    const r = await downloadModel(ctx);
    assert.ok(r, JSON.stringify(ui.messages));
    assert.equal(r.dir, join(hubCache, "models--MonetLLM--tiny-codemonet-test", "snapshots", repo.commit));
    assert.ok(!readdirSync(r.dir).includes("modeling_monet.py"), "no model code fetched");

    const download = ui.progress.find(
      (p) => p.title === "Monet Lens: downloading MonetLLM/tiny-codemonet-test",
    )!;
    assert.ok(download, ui.progress.map((p) => p.title).join("\n"));
    assert.ok(download.reports.length >= 2, download.reports.join("\n"));
    for (const line of download.reports)
      assert.match(line, /^[\d.]+ [kMG]?B \/ [\d.]+ [kMG]?B, [\d.]+ [kMG]?B\/s, (\d+:\d\d|--:--) left/);
    assert.match(download.reports.at(-1)!, /^([\d.]+ [kMG]?B) \/ \1,/, "reaches the total");

    // Offered, chosen: converted with progress, running, and the setting is the repo id.
    assert.ok(ui.offered.some((a) => a.includes(USE_IT)));
    assert.deepEqual(
      ui.settings.filter((s) => s.key === "modelPath").map((s) => s.value),
      [REPO],
    );
    assert.equal(ctx.config.modelPath, REPO);
    assert.equal(ctx.host.state.kind, "ready");
    assert.equal(ctx.host.info!.modelDir, r.dir);
    assert.equal(ctx.host.info!.identity.name, "tiny-codemonet-test", "named by the repo, not the commit");
    assert.match(ui.messages.at(-1)!.message, /running tiny-codemonet-test on cpu/);
    assert.ok(logs.some((l) => /downloaded MonetLLM\/tiny-codemonet-test \(commit [0-9a-f]{40}\)/.test(l)));
    const suggestion = await complete(ctx);
    assert.ok(suggestion && suggestion.text.length > 0, "a completion from the downloaded model");
  });

  it("modelPath as a repo id resolves from the cache when the engine starts (no network)", async () => {
    const { ctx } = newCtx({ modelPath: REPO });
    const requests = hub.requests.length;
    const suggestion = await complete(ctx);
    assert.ok(suggestion && suggestion.text.length > 0);
    assert.equal(
      ctx.host.info!.modelDir,
      join(hubCache, "models--MonetLLM--tiny-codemonet-test", "snapshots", repo.commit),
    );
    assert.equal(hub.requests.length, requests, "the Hub was not asked");
  });

  it("a repo id that is not downloaded fails once, saying so, and offers the download of exactly that repo", async () => {
    const { ctx, ui } = newCtx({ modelPath: "MonetLLM/monet-vd-850M-100BT-hf" });
    ui.errorAnswer = "Download Model";
    assert.equal(await complete(ctx), undefined);
    assert.equal(await complete(ctx), undefined);
    assert.equal(ctx.host.state.kind, "failed");
    const errors = ui.messages.filter((m) => m.kind === "error");
    assert.equal(errors.length, 1, "said once");
    assert.match(
      errors[0]!.message,
      /MonetLLM\/monet-vd-850M-100BT-hf is not in the Hugging Face cache .*download it with “Monet Lens: Download Model…”/,
    );
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(ui.commands.at(-1), {
      id: commandId("downloadModel"),
      args: ["MonetLLM/monet-vd-850M-100BT-hf"],
    });
  });

  it("a preset that is not a repo id is not trusted: the QuickPick shows instead", async () => {
    const { ctx, ui } = newCtx({});
    let picks = 0;
    ui.pick = () => {
      picks++;
      return undefined;
    };
    for (const bad of ["../../etc", { repo: REPO }, 42, "a/b/c"]) await downloadModel(ctx, bad);
    assert.equal(picks, 4);
    assert.equal(ui.progress.length, 0);
  });

  it("cancelling keeps what was fetched; the next download resumes, and the running model is the one asked for", async () => {
    const { ctx, ui } = newCtx({ modelPath: SLOW_REPO });
    ui.errorAnswer = undefined;
    const big = [...repoFromFolder(SLOW_REPO, DEMO_MODEL).files.values()].sort((a, b) => b.size - a.size)[0]!;
    hub.faults.slow = { path: big.path, bytesPerSecond: 2_000_000 };
    const blobs = join(hubCache, "models--MonetLLM--slow-test", "blobs");
    // Cancel once the slow file has begun (a count of reports raced the order of the files).
    ui.cancelWhen = () => existsSync(blobs) && readdirSync(blobs).some((b) => b.endsWith(".incomplete"));
    assert.equal(await downloadModel(ctx, SLOW_REPO), undefined);
    assert.match(
      ui.messages.at(-1)!.message,
      /download of MonetLLM\/slow-test cancelled\. What was fetched is kept/,
    );
    assert.ok(
      readdirSync(blobs).some((b) => b.endsWith(".incomplete")),
      "the partial file is kept to resume",
    );
    assert.ok(!ui.settings.some((s) => s.key === "modelPath"));

    hub.faults.slow = undefined;
    ui.cancelWhen = undefined;
    const r = await downloadModel(ctx, SLOW_REPO);
    assert.ok(r, JSON.stringify(ui.messages.at(-1)));
    assert.ok(!readdirSync(blobs).some((b) => b.endsWith(".incomplete")));
    // modelPath already named it: it loads at once, no question asked.
    assert.equal(ctx.host.state.kind, "ready");
    assert.ok(existsSync(ctx.host.info!.modelDir));
    assert.equal(ctx.host.info!.modelDir, r.dir);
  });
});

describe("monetLens.modelPath accepts a repo id", () => {
  const read = (modelPath: unknown) => readConfig((k) => (k === "modelPath" ? modelPath : undefined));
  it("keeps org/name and org/name@revision as written; folders stay absolute paths", () => {
    assert.equal(
      read(" MonetLLM/codemonet-vd-1.4B-100BT-hf ").config.modelPath,
      "MonetLLM/codemonet-vd-1.4B-100BT-hf",
    );
    assert.equal(
      read("MonetLLM/codemonet-vd-1.4B-100BT-hf@main").config.modelPath,
      "MonetLLM/codemonet-vd-1.4B-100BT-hf@main",
    );
    assert.equal(read("/models/x/../y").config.modelPath, "/models/y");
  });
  it("refuses what is neither, saying both forms", () => {
    const r = read("models/a/b");
    assert.equal(r.config.modelPath, "");
    assert.match(r.problems[0]!, /is not an absolute folder path .* or a Hugging Face model id/);
    assert.equal(read("./model").config.modelPath, "");
  });
});
