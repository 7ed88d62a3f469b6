// The engine host with the real engine process: lazy start, busy state, idle unload and
// reload, restarts after crashes up to a limit then a failed state that says why, and a
// model switch that can be cancelled during conversion without leaving anything behind.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { EngineClient, type ClientOptions } from "../../src/engine/engine-client";
import { CancelledError, EngineCrashedError, EngineUnavailableError } from "../../src/engine/errors";
import { EngineHost, type EngineState } from "../../src/app/engine-host";
import { anonHugePagesMiB, HUGE_PAGES_TUNABLE } from "../../src/engine/huge-pages";
import { DEMO_ENGINE_SETTINGS, DEMO_MODEL, TEST_CACHE } from "../helpers/fixtures";
import { gone, transparentHugePagesMode, until } from "../helpers/processes";

function makeHost(overrides: { idleUnloadMs?: number; maxRestarts?: number; cacheDir?: string } = {}) {
  const clients: EngineClient[] = [];
  const states: EngineState["kind"][] = [];
  const logs: string[] = [];
  const host = new EngineHost({
    settings: { ...DEMO_ENGINE_SETTINGS, idleUnloadMs: overrides.idleUnloadMs ?? 0 },
    log: (l) => logs.push(l),
    cacheDir: overrides.cacheDir ?? TEST_CACHE,
    maxRestarts: overrides.maxRestarts,
    createClient: (o: ClientOptions) => {
      const c = new EngineClient(o);
      clients.push(c);
      return c;
    },
  });
  host.onDidChangeState((s) => states.push(s.kind));
  return { host, clients, states, logs };
}

describe("engine host (real engine process)", () => {
  const hosts: EngineHost[] = [];
  after(async () => {
    for (const h of hosts) await h.dispose();
  });

  it("a run-time provider fallback reported by the engine process reaches the info, the state and the log", async () => {
    const { host, clients, logs } = makeHost();
    hosts.push(host);
    await host.generate({ prompt: "x = 1\n", maxTokens: 2 });
    const ready: EngineState[] = [];
    host.onDidChangeState((s) => ready.push(s));
    // What the worker sends after a GPU failed at run time (worker.ts reportProvider).
    const child = (clients[0] as unknown as { child: import("node:child_process").ChildProcess }).child;
    child.emit("message", {
      type: "provider",
      ep: "cpu",
      dtype: "float32",
      fallbacks: ["cuda: failed at run time: CUDA error"],
    });
    assert.equal(clients[0]!.info?.ep, "cpu");
    assert.equal(host.info?.ep, "cpu");
    assert.deepEqual(host.info?.fallbacks, ["cuda: failed at run time: CUDA error"]);
    assert.equal(ready.at(-1)?.kind, "ready");
    const last = ready.at(-1);
    assert.equal(
      last?.kind === "ready" ? last.info.ep : undefined,
      "cpu",
      "the status sees the new provider",
    );
    assert.ok(logs.includes("engine now runs on cpu (float32)"));
  });

  it("starts lazily on the first request and reports loading, ready and busy", async () => {
    const { host, clients, states } = makeHost();
    hosts.push(host);
    assert.equal(host.state.kind, "stopped");
    assert.equal(clients.length, 0, "nothing started at construction");
    const busy: boolean[] = [];
    host.onDidChangeBusy((b) => busy.push(b));
    const r = await host.generate({ prompt: "def f(x):\n", maxTokens: 4 });
    assert.ok(r.ids.length > 0);
    assert.deepEqual(states, ["loading", "ready"]);
    assert.deepEqual(busy, [true, false]);
    const model = await host.model();
    assert.equal(model.maxPositions, 2048);
    assert.ok(model.tokenizer.count("def f(x):") > 1);
  });

  it("unloads after the idle time (the process ends) and loads again on the next request", async () => {
    const { host, clients, states, logs } = makeHost({ idleUnloadMs: 300 });
    hosts.push(host);
    await host.generate({ prompt: "x = ", maxTokens: 2 });
    const pid = clients[0]!.pid!;
    await until("the idle unload", () => host.state.kind === "unloaded");
    assert.ok(gone(pid), "the engine process was ended");
    assert.ok(logs.some((l) => /unloaded to free memory/.test(l)));
    const r = await host.generate({ prompt: "y = ", maxTokens: 2 });
    assert.ok(r.ids.length > 0);
    assert.equal(host.state.kind, "ready");
    assert.deepEqual(states.slice(-4), ["ready", "unloaded", "loading", "ready"]);
    assert.notEqual(clients[0]!.pid, pid, "a new engine process");
  });

  it("restarts after a crash, and after too many in a row stays failed and says why until restarted", async () => {
    const { host, clients, logs } = makeHost({ maxRestarts: 1 });
    hosts.push(host);
    const crash = () =>
      host.generate(
        { prompt: "int main() {\n", maxTokens: 200, ignoreEos: true },
        { onText: () => clients[0]!.kill() },
      );
    await assert.rejects(crash(), EngineCrashedError);
    assert.equal(host.state.kind, "loading");
    assert.ok(logs.some((l) => /1 of at most 1 restarts/.test(l)));
    const ok = await host.generate({ prompt: "a = ", maxTokens: 2 });
    assert.ok(ok.ids.length > 0, "restarted and served");
    await assert.rejects(crash(), EngineCrashedError);
    await assert.rejects(crash(), EngineCrashedError);
    assert.equal(host.state.kind, "failed");
    assert.match((host.state as { message: string }).message, /stopped 2 times in a row.*Restart Engine/);
    await assert.rejects(host.generate({ prompt: "b = ", maxTokens: 2 }), EngineUnavailableError);
    const info = await host.restart();
    assert.equal(info.ep, "cpu");
    assert.ok((await host.generate({ prompt: "c = ", maxTokens: 2 })).ids.length > 0);
  });

  it("a model switch cancelled during conversion leaves the running model and no half-written files", async () => {
    const cacheDir = mkdtempSync(join(TEST_CACHE, "..", "lens-switch-"));
    try {
      const { host } = makeHost({ cacheDir });
      hosts.push(host);
      const abort = new AbortController();
      let reports = 0;
      await assert.rejects(
        host.switchModel(DEMO_MODEL, {
          signal: abort.signal,
          onProgress: () => {
            if (++reports === 2) abort.abort();
          },
        }),
        CancelledError,
      );
      assert.ok(reports >= 2, "conversion progress was reported");
      assert.equal(host.state.kind, "stopped", "the host's own engine is untouched");
      const root = join(cacheDir, "converted");
      await until(
        "the temporary conversion folder to go",
        () => !existsSync(root) || readdirSync(root).every((n) => !n.includes(".tmp-")),
        5000,
      );
      // Not cancelled: converts, switches, serves.
      const progress: string[] = [];
      const info = await host.switchModel(DEMO_MODEL, { onProgress: (_d, _t, what) => progress.push(what) });
      assert.ok(progress.length > 0);
      assert.equal(host.state.kind, "ready");
      assert.equal(host.info?.convertedDir, info.convertedDir);
      assert.ok((await host.generate({ prompt: "z = ", maxTokens: 2 })).ids.length > 0);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it("the dtype setting reaches the engine: a new precision replaces it, converts once and says so", async () => {
    const { host, clients } = makeHost();
    hosts.push(host);
    await host.generate({ prompt: "q = ", maxTokens: 2 });
    assert.equal(host.info?.dtype, "float32", "auto keeps the demo model in float32 on the CPU");
    const pid = clients[0]!.pid!;
    const replaced = await host.configure({ ...DEMO_ENGINE_SETTINGS, dtype: "int8" });
    assert.equal(replaced, true);
    assert.ok(gone(pid));
    const r = await host.generate({ prompt: "def add(a, b):\n    return", maxTokens: 4 });
    assert.ok(r.ids.length > 0);
    assert.equal(host.info?.dtype, "int8");
    assert.match(host.info!.convertedDir, /-int8$/);
    assert.equal(
      await host.configure({ ...DEMO_ENGINE_SETTINGS, dtype: "int8" }),
      false,
      "the same settings keep the engine",
    );
  });

  it("the hugePages setting starts a new engine process with glibc's tunable, which gives its memory huge pages", async () => {
    const { host, clients, logs } = makeHost();
    hosts.push(host);
    await host.generate({ prompt: "q = ", maxTokens: 2 });
    const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    const before = clients[0]!.pid!;
    assert.doesNotMatch(logs.find((l) => l.startsWith("engine started"))!, /huge pages/);
    if (process.platform === "linux")
      assert.ok(
        !environ(before).includes(`GLIBC_TUNABLES=${HUGE_PAGES_TUNABLE}`),
        "auto leaves the small demo model without them",
      );
    const on = {
      modelDir: DEMO_MODEL,
      ep: "cpu" as const,
      dtype: "auto" as const,
      threads: 0,
      idleUnloadMs: 0,
    };
    assert.equal(await host.configure({ ...on, hugePages: "on" }), true, "a change replaces the engine");
    assert.ok(gone(before));
    await host.generate({ prompt: "q = ", maxTokens: 2 });
    if (process.platform !== "linux") return;
    const pid = clients[1]!.pid!;
    assert.ok(environ(pid).includes(`GLIBC_TUNABLES=${HUGE_PAGES_TUNABLE}`), environ(pid).join(" "));
    assert.match(logs.filter((l) => l.startsWith("engine started")).at(-1)!, /huge pages asked for/);
    // The kernel honours it where it hands out huge pages at all (this project's CI: madvise).
    const mode = transparentHugePagesMode();
    if (mode === "madvise" || mode === "always") {
      const huge = anonHugePagesMiB(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8")) ?? 0;
      assert.ok(huge >= 64, `the engine process holds ${huge} MiB in huge pages (the demo weights: 157 MiB)`);
    }
  });

  it("a different provider or model replaces the engine; the old process ends", async () => {
    const { host, clients } = makeHost();
    hosts.push(host);
    await host.generate({ prompt: "q = ", maxTokens: 2 });
    const pid = clients[0]!.pid!;
    await host.configure({
      modelDir: DEMO_MODEL,
      ep: "cpu",
      dtype: "auto",
      threads: 1,
      hugePages: "auto",
      idleUnloadMs: 0,
    });
    assert.equal(host.state.kind, "stopped");
    assert.ok(gone(pid));
    await host.generate({ prompt: "q = ", maxTokens: 2 });
    assert.equal(clients.length, 2);
  });
});
