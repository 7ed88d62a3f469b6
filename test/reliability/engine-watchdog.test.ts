// A hung engine (issue #18): the real engine process SIGSTOPped mid-generation and while idle,
// and a stand-in whose main thread is stuck inside a request while its heartbeat goes on. Each
// is detected within the watchdog's bound, killed (no zombie), reported once, its pending
// requests fail with EngineHungError, and the next request gets a new engine process.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EngineHost } from "../../src/app/engine-host";
import { EngineClient } from "../../src/engine/engine-client";
import { EngineCrashedError, EngineHungError } from "../../src/engine/errors";
import { DEMO_ENGINE_SETTINGS, DEMO_MODEL, TEST_CACHE } from "../helpers/fixtures";
import { children, gone, hasProc, until } from "../helpers/processes";
import { fakeEngineOptions, WATCHDOG } from "./helpers";

/** The real engine: a short silence bound; the stall bound stays the default (opening a model blocks for seconds). */
const REAL_WATCHDOG = { silenceMs: WATCHDOG.silenceMs };
const needsSignals = process.platform === "win32" && "SIGSTOP does not exist on Windows";

describe("engine watchdog (a hung engine process)", () => {
  it("the real engine SIGSTOPped mid-generation: its requests fail with a clear error within the bound, it is killed, and the next request restarts it", {
    skip: needsSignals,
  }, async () => {
    const logs: string[] = [];
    const client = new EngineClient({
      modelDir: DEMO_MODEL,
      ep: "cpu",
      cacheDir: TEST_CACHE,
      watchdog: REAL_WATCHDOG,
      log: (l) => logs.push(l),
    });
    try {
      await client.start();
      const pid = client.pid!;
      let stoppedAt = 0;
      const running = client.generate(
        { prompt: "def main():\n", maxTokens: 400, ignoreEos: true },
        {
          onText: () => {
            if (stoppedAt) return;
            stoppedAt = performance.now();
            process.kill(pid, "SIGSTOP");
          },
        },
      );
      // Queued behind it: must fail too, not wait forever.
      const queued = client.route("x = 1\n");
      const results = await Promise.allSettled([running, queued]);
      const waited = performance.now() - stoppedAt;
      for (const r of results) {
        assert.equal(r.status, "rejected");
        const e = (r as PromiseRejectedResult).reason as Error;
        assert.ok(e instanceof EngineHungError, `${e}`);
        assert.ok(e instanceof EngineCrashedError, "a hang is handled as a crash by the callers");
        assert.match(
          e.message,
          /no sign of life for \d+(\.\d)? s \(it is stopped or frozen\).*restarts on the next request/,
        );
      }
      assert.ok(waited >= WATCHDOG.silenceMs - 1100 && waited < WATCHDOG.silenceMs + 10_000, `${waited} ms`);
      await until("the stopped engine process is killed and reaped", () => gone(pid));
      if (hasProc) assert.deepEqual(children().defunct, [], "no zombie");
      assert.equal(logs.filter((l) => /no sign of life/.test(l)).length, 1, "said once in the log");
      const r = await client.generate({ prompt: "y = ", maxTokens: 3 });
      assert.ok(r.ids.length > 0, "a new engine process answers");
      assert.notEqual(client.pid, pid);
    } finally {
      await client.close();
    }
  });

  it("a real engine SIGSTOPped while idle is ended on its own; the next request starts a new one", {
    skip: needsSignals,
  }, async () => {
    const logs: string[] = [];
    const client = new EngineClient({
      modelDir: DEMO_MODEL,
      ep: "cpu",
      cacheDir: TEST_CACHE,
      watchdog: REAL_WATCHDOG,
      log: (l) => logs.push(l),
    });
    try {
      await client.start();
      const pid = client.pid!;
      process.kill(pid, "SIGSTOP");
      await until("the idle stopped engine is ended", () => gone(pid), 15_000);
      assert.equal(client.pid, undefined);
      assert.ok(logs.some((l) => /no sign of life/.test(l)));
      const r = await client.generate({ prompt: "z = ", maxTokens: 2 });
      assert.ok(r.ids.length > 0);
    } finally {
      await client.close();
    }
  });

  it("an engine whose main thread is stuck in a request (its heartbeat goes on) is ended after the stall bound", async () => {
    const logs: string[] = [];
    const client = new EngineClient({ ...fakeEngineOptions("stuck"), log: (l) => logs.push(l) });
    try {
      await client.start();
      const pid = client.pid!;
      const t0 = performance.now();
      await assert.rejects(
        client.generate({ prompt: "x", maxTokens: 4 }),
        (e: Error) =>
          e instanceof EngineHungError &&
          /made no progress on its request for \d+(\.\d)? s \(it is stuck\)/.test(e.message),
      );
      const waited = performance.now() - t0;
      assert.ok(waited >= WATCHDOG.stallMs && waited < WATCHDOG.stallMs + 10_000, `${waited} ms`);
      await until("the stuck engine is killed", () => gone(pid));
      await client.start();
      assert.notEqual(client.pid, pid, "restarted");
    } finally {
      await client.close();
    }
  });

  it("the extension's engine host notes a hang once, with several requests pending, and recovers", {
    skip: needsSignals,
  }, async () => {
    const logs: string[] = [];
    const host = new EngineHost({
      settings: DEMO_ENGINE_SETTINGS,
      log: (l) => logs.push(l),
      cacheDir: TEST_CACHE,
      createClient: (o) => new EngineClient({ ...o, watchdog: REAL_WATCHDOG }),
    });
    const notes: string[] = [];
    host.onDidCrash((m) => notes.push(m));
    try {
      await host.generate({ prompt: "a = ", maxTokens: 2 });
      const states: string[] = [];
      host.onDidChangeState((s) => states.push(s.kind));
      let pid: number | undefined;
      const stopIt = () => {
        if (pid) return;
        pid = (host as unknown as { client: EngineClient }).client.pid!;
        process.kill(pid, "SIGSTOP");
      };
      const pending = [
        host.generate({ prompt: "def f():\n", maxTokens: 200, ignoreEos: true }, { onText: stopIt }),
        host.route("b = 2\n"),
        host.generate({ prompt: "c = ", maxTokens: 3 }),
      ];
      const settled = await Promise.allSettled(pending);
      assert.ok(settled.every((s) => s.status === "rejected" && s.reason instanceof EngineHungError));
      assert.equal(notes.length, 1, "the user is told once");
      assert.match(notes[0]!, /stopped or frozen/);
      const r = await host.generate({ prompt: "d = ", maxTokens: 2 });
      assert.ok(r.ids.length > 0);
      assert.equal(host.state.kind, "ready");
    } finally {
      await host.dispose();
    }
  });
});
