// A stand-in engine process for the watchdog and protocol tests (forked by EngineClient through
// its `engineScript` option): it beats like the real one (src/engine/heartbeat.ts) and answers
// "open" with the demo model's description, then misbehaves as $FAKE_ENGINE_MODE says:
//   stuck            "generate" blocks the main thread for good (the heartbeat thread goes on)
//   bad-answer       "generate" is answered with a result of the wrong shape
//   bad-heartbeat    the heartbeat pipe gets a line that is not the protocol's
//   unknown-message  "generate" is answered with a message of an unknown type
import { writeSync } from "node:fs";
import { HEARTBEAT_FD_ENV, startHeartbeat } from "../../src/engine/heartbeat";
import type { EngineInfo, Response } from "../../src/engine/protocol";

const mode = process.env.FAKE_ENGINE_MODE ?? "stuck";
const info = JSON.parse(process.env.FAKE_ENGINE_INFO ?? "null") as EngineInfo;
const heartbeat =
  mode === "bad-heartbeat" ? startHeartbeat({}) : startHeartbeat(process.env as NodeJS.ProcessEnv);
const send = (m: unknown) => {
  heartbeat.progress();
  process.send!(m as Response);
};

process.on("message", (req: { type: string; id: number }) => {
  heartbeat.begin();
  if (req.type === "open") {
    void heartbeat.started.then(() => {
      send({ type: "opened", id: req.id, info });
      heartbeat.end();
    });
    if (mode === "bad-heartbeat")
      setTimeout(() => writeSync(Number(process.env[HEARTBEAT_FD_ENV]), "beat beat\n"), 200);
    return;
  }
  if (req.type !== "generate") return heartbeat.end();
  switch (mode) {
    case "stuck":
      // Blocks without spinning, as a deadlock in native code would.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      return;
    case "bad-answer":
      send({ type: "generated", id: req.id, result: { text: 42, ids: "all of them" } });
      return;
    case "unknown-message":
      send({ type: "surprise", id: req.id });
      return;
  }
});
process.on("disconnect", () => process.exit(0));
