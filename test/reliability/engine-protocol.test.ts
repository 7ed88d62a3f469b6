// Malformed messages across the engine process's boundary (issue #18), with real processes:
// the real engine process fed garbage answers each with an error naming the field and goes on
// serving; an engine process that answers garbage, an unknown message or a garbled heartbeat
// fails the request with EngineProtocolError, is ended, and the next request starts another.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { join } from "node:path";
import { EngineClient } from "../../src/engine/engine-client";
import { EngineCrashedError, EngineProtocolError } from "../../src/engine/errors";
import type { Response } from "../../src/engine/protocol";
import { DEMO_MODEL, TEST_CACHE } from "../helpers/fixtures";
import { gone, until } from "../helpers/processes";
import { fakeEngineOptions } from "./helpers";

describe("engine protocol: malformed messages", () => {
  it("the real engine process answers each malformed request with an error naming the field, and keeps serving", async () => {
    const worker = fork(join(process.cwd(), "src", "engine", "worker.ts"), [], {
      execArgv: ["--import", "tsx"],
      serialization: "advanced",
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    const answers: Response[] = [];
    worker.on("message", (m: Response) => answers.push(m));
    const next = async (): Promise<Response> => {
      await until("an answer from the engine", () => answers.length > 0, 60_000);
      return answers.shift()!;
    };
    try {
      const garbage: Array<[unknown, RegExp, number]> = [
        [null, /request must be an object, not null/, 0],
        [42, /request must be an object, not 42/, 0],
        [[1, 2], /not an array of 2/, 0],
        [{ type: "explode", id: 3 }, /unknown request type "explode"/, 0],
        [{ type: "stats", id: -1 }, /stats\.id must be an integer from 1/, 0],
        [
          { type: "generate", id: 5, params: { maxTokens: "lots" } },
          /params\.maxTokens must be an integer/,
          5,
        ],
        [{ type: "generate", id: 6, params: { maxTokens: 4, ids: [1, -7] } }, /params\.ids\[1\]/, 6],
        [{ type: "route", id: 7, text: { evil: true } }, /route\.text must be a string/, 7],
        [{ type: "cancel", id: 8, target: -2 }, /cancel\.target/, 8],
        [{ type: "open", id: 9, params: { threads: 1e9 } }, /threads must be an integer from 1 to 256/, 9],
      ];
      for (const [raw, error, id] of garbage) {
        worker.send(raw as never);
        const a = await next();
        assert.equal(a.type, "error", JSON.stringify(raw));
        if (a.type !== "error") continue;
        assert.equal(a.id, id);
        assert.match(a.message, /^the engine refused a request: /);
        assert.match(a.message, error);
      }
      // Still alive and serving: a well-formed request is answered.
      worker.send({ type: "stats", id: 11 });
      const stats = await next();
      assert.equal(stats.type, "stats");
      assert.equal(worker.exitCode, null);
      // A generate before open is a clear error too, not a TypeError.
      worker.send({ type: "generate", id: 12, params: { maxTokens: 2, prompt: "x" } });
      const early = await next();
      assert.deepEqual(early, { type: "error", id: 12, message: "the engine is not open" });
    } finally {
      worker.kill("SIGKILL");
    }
  });

  for (const [mode, why] of [
    [
      "bad-answer",
      /malformed message \(malformed message from the engine: generated\.result\.text must be a string/,
    ],
    ["unknown-message", /unknown message from the engine type "surprise"/],
    ["bad-heartbeat", /malformed heartbeat \(a heartbeat that is not JSON/],
  ] as const) {
    it(`an engine that sends ${mode.replace("-", " ")}s is ended; its request fails clearly; the next one restarts it`, async () => {
      const logs: string[] = [];
      const client = new EngineClient({ ...fakeEngineOptions(mode), log: (l) => logs.push(l) });
      try {
        await client.start();
        const pid = client.pid!;
        const request =
          mode === "bad-heartbeat"
            ? new Promise<unknown>((_, reject) => {
                // No request needed: the heartbeat alone ends it. The next request is refused on a new one.
                void until("the engine is ended", () => client.pid === undefined, 10_000).then(() =>
                  reject(new EngineProtocolError(logs.join("\n"))),
                );
              })
            : client.generate({ prompt: "x", maxTokens: 2 });
        await assert.rejects(request, (e: Error) => {
          assert.ok(e instanceof EngineProtocolError && e instanceof EngineCrashedError, String(e));
          assert.match(e.message, why);
          return true;
        });
        await until("the broken engine is killed", () => gone(pid));
        assert.equal(logs.filter((l) => why.test(l)).length, 1, "said once in the log");
        await client.start();
        assert.notEqual(client.pid, pid, "a new engine process");
      } finally {
        await client.close();
      }
    });
  }

  it("the real engine and client agree on every message of a session (nothing refused)", async () => {
    const logs: string[] = [];
    const client = new EngineClient({
      modelDir: DEMO_MODEL,
      ep: "cpu",
      cacheDir: TEST_CACHE,
      log: (l) => logs.push(l),
    });
    try {
      await client.start();
      const r = await client.generate({
        prompt: "def f(x):\n",
        maxTokens: 6,
        temperature: 0.8,
        topP: 0.9,
        seed: 3,
        stopStrings: ["\n\n"],
        structure: { kind: "block", indent: 0, tabSize: 4 },
      });
      assert.ok(r.ids.length > 0);
      const routed = await client.route("x = 1\n");
      assert.equal(routed.ids.length, routed.shape.tokens);
      assert.ok(await client.stats());
      assert.deepEqual(
        logs.filter((l) => /malformed|refused/.test(l)),
        [],
      );
    } finally {
      await client.close();
    }
  });
});
