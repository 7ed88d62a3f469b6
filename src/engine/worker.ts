// The engine's process: onnxruntime's run() blocks the thread it runs on, so the model
// lives in a child process and the caller (the extension host, the CLI) stays responsive;
// a native crash or an out-of-memory here ends this process only. run() yields to the
// event loop between calls, so a "cancel" message is seen between two tokens.
// Every request is validated first (protocol-check.ts): a malformed one is answered with an
// error naming the field, never a TypeError or a crash; a thread beats for the client's watchdog.
import { Engine } from "./engine";
import { startHeartbeat } from "./heartbeat";
import type { Request, Response } from "./protocol";
import { parseRequest } from "./protocol-check";
import { type Steering, steeringFromWire } from "./steering";
import { structureCut } from "./structure-stop";

if (!process.send)
  throw new Error("the engine worker must be started by the engine client (child_process.fork)");
let engine: Engine | undefined;
const cancelled = new Set<number>();
/** Generations received and not yet finished: only their cancels are kept. */
const live = new Set<number>();

const heartbeat = startHeartbeat();
/** Every message out is progress for the watchdog: a token, a conversion step, an answer. */
const send = (m: Response) => {
  heartbeat.progress();
  process.send!(m);
};
/** The provider and precision the client was last told about. */
let reported: string | undefined;

/** Tells the client when a run-time fallback moved the engine to another provider or precision. */
function reportProvider(): void {
  if (!engine || `${engine.ep}|${engine.dtype}` === reported) return;
  reported = `${engine.ep}|${engine.dtype}`;
  send({ type: "provider", ep: engine.ep, dtype: engine.dtype, fallbacks: [...engine.fallbacks] });
}

/**
 * The caller's steering, checked against the model, with its key recomputed from the
 * content (the runner builds the graph's matrices once per key).
 */
function steeringOf(wire: unknown): Steering | undefined {
  if (wire === undefined || !engine) return undefined;
  return steeringFromWire(wire, { groups: engine.routingGroups, experts: engine.config.moeExperts });
}

async function handle(req: Request): Promise<void> {
  switch (req.type) {
    case "open": {
      engine = await Engine.open({
        ...req.params,
        log: (line) => send({ type: "log", line }),
        onProgress: (done, total, what) => send({ type: "progress", done, total, what }),
      });
      reported = `${engine.ep}|${engine.dtype}`;
      // The client's watchdog hears this process beat before it is told that the model is open.
      await heartbeat.started;
      send({
        type: "opened",
        id: req.id,
        info: {
          modelDir: engine.modelDir,
          ep: engine.ep,
          fallbacks: engine.fallbacks,
          convertedDir: engine.convertedDir,
          dtype: engine.dtype,
          config: engine.config,
          identity: engine.identity,
        },
      });
      return;
    }
    case "generate": {
      if (!engine) throw new Error("the engine is not open");
      live.add(req.id);
      const { prompt, ids, steering, structure, ...opts } = req.params;
      const promptIds = ids ?? engine.tokenizer.encode(prompt ?? "");
      const result = await engine.generateIds(promptIds, {
        ...opts,
        steering: steeringOf(steering),
        cancelled: () => cancelled.has(req.id),
        shouldStop: structure ? (text) => structureCut(text, structure) !== undefined : undefined,
        onText: (text) => send({ type: "text", id: req.id, text }),
      });
      cancelled.delete(req.id);
      live.delete(req.id);
      reportProvider();
      send({ type: "generated", id: req.id, result });
      return;
    }
    case "route": {
      if (!engine) throw new Error("the engine is not open");
      const result = await engine.route(req.text, steeringOf(req.steering));
      reportProvider();
      send({ type: "routed", id: req.id, result });
      return;
    }
    case "nextLogits": {
      if (!engine) throw new Error("the engine is not open");
      const logits = await engine.nextLogits(req.ids ?? req.prompt ?? "", steeringOf(req.steering));
      reportProvider();
      send({ type: "logits", id: req.id, logits });
      return;
    }
    case "score": {
      if (!engine) throw new Error("the engine is not open");
      const ids = req.ids;
      if (
        !Array.isArray(ids) ||
        !ids.every((id) => Number.isInteger(id) && id >= 0 && id < engine!.config.vocabSize)
      )
        throw new Error("score: ids must be token ids of this model");
      const result = await engine.tokenLogprobs(ids, req.from, steeringOf(req.steering));
      reportProvider();
      send({ type: "scored", id: req.id, result });
      return;
    }
    case "cancel":
      // A cancel that arrives after its generation finished is dropped, not kept forever.
      if (live.has(req.target)) cancelled.add(req.target);
      return;
    case "stats": {
      const stats = engine?.stats ?? { generations: 0, cancelled: 0, running: 0, maxRunning: 0 };
      const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
      send({
        type: "stats",
        id: req.id,
        stats: { ...stats, pendingCancels: cancelled.size, rss, heapTotal, heapUsed, external, arrayBuffers },
      });
      return;
    }
    case "close": {
      await engine?.close();
      engine = undefined;
      send({ type: "closed", id: req.id });
      return;
    }
  }
}

process.on("message", (raw: unknown) => {
  const parsed = parseRequest(raw);
  if (!parsed.ok) {
    // Answered to its request when its id is usable, else to id 0 (the client logs it).
    send({ type: "error", id: parsed.id ?? 0, message: `the engine refused a request: ${parsed.error}` });
    return;
  }
  const req = parsed.value;
  heartbeat.begin();
  handle(req)
    .catch((e: unknown) => {
      if (req.type === "generate") {
        cancelled.delete(req.id);
        live.delete(req.id);
      }
      send({ type: "error", id: req.id, message: e instanceof Error ? e.message : String(e) });
    })
    .finally(() => heartbeat.end());
});
// The caller went away (closed, crashed): so do we.
process.on("disconnect", () => process.exit(0));
