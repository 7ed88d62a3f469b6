// A scripted typing session against the real engine (demo model, CPU, its own process):
// one keystroke every 1/rate seconds, each one a new completion request that supersedes
// the previous one, as VS Code sends them. Checks the invariants of the issue and
// measures latency and memory:
//
//   - every superseded generation is cancelled (its abort signalled before the next one
//     starts; the engine ends it as "cancelled" unless it had already finished);
//   - the engine never runs more than one generation at a time (the engine's own counter,
//     and no two un-cancelled generations in flight on the caller's side);
//   - no cancel request is left pending in the engine at the end;
//   - memory stays flat: RSS of the engine process and of the caller at the start (after
//     warm-up) and at the end;
//   - the last suggestion equals what a fresh engine (new process, no cached prefix) and a
//     fresh controller give for the same request.
//
//   - memory levels off: RSS of both processes is sampled while typing, and the trend over
//     the second half of the session must stay under 1 MB per minute or 16 MB in all (rss-chart.ts).
//
// `npm run load-test` runs 2,000 keystrokes at 20 per second (100 s) and prints the figures;
// `npm run load-test -- --minutes 20` types for 20 minutes. Either writes the RSS chart to
// docs/load-test-rss.svg (`--svg PATH` elsewhere, `--svg ""` not at all).
// test/reliability/load.test.ts runs 200 keystrokes for the invariants only (no timing).
//
//   node --import tsx test/reliability/load-session.ts [--keystrokes N | --minutes M] [--rate HZ]
//     [--debounce MS] [--sample-seconds S] [--svg PATH] [--json]
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import {
  CompletionController,
  type CompletionEngine,
  type CompletionSettings,
} from "../../src/completion/controller";
import { promptTokenizer } from "../../src/completion/prompt";
import type { CompletionRequest } from "../../src/completion/request";
import { EngineClient } from "../../src/engine/engine-client";
import type { GenerateResult } from "../../src/engine/generate";
import type { GenerateParams, WorkerStats } from "../../src/engine/protocol";
import { SentencePieceTokenizer } from "../../src/tokenizer/tokenizer";
import { DEFAULTS } from "../../src/app/config";
import { DEMO_MODEL, SHARED, TEST_CACHE } from "../helpers/fixtures";
import {
  GROWTH_LIMIT_MB,
  GROWTH_LIMIT_MB_PER_MIN,
  type RssSample,
  type RssTrend,
  rssChartSvg,
  rssTrend,
} from "./rss-chart";

export interface LoadOptions {
  keystrokes: number;
  /** Keystrokes per second. */
  rate: number;
  /** The controller's debounce; 0 (default here) sends every keystroke to the engine: the most load. */
  debounceMs?: number;
  cacheDir?: string;
  /** Seconds between two RSS samples while typing (default: 1/200 of the session, 1 to 10 s). */
  sampleSeconds?: number;
  log?: (line: string) => void;
}

interface Generation {
  launchedAt: number;
  abortedAt?: number;
  finishedAt?: number;
  stopReason?: string;
  error?: string;
  prefillMs?: number;
  promptTokens?: number;
  reusedTokens?: number;
  tokens?: number;
}

export interface LoadReport {
  keystrokes: number;
  rate: number;
  debounceMs: number;
  wallSeconds: number;
  /** Seconds from the first keystroke to the last (rate × this = keystrokes when the caller keeps up). */
  typingSeconds: number;
  /** The caller's event-loop delay while typing (ms): how responsive the extension host side stayed. */
  callerLagMs: { p99: number; max: number };
  /** From the last keystroke's request to its answer being awaited after typing ended. */
  lastLatencyMs: number;
  generations: number;
  /** Generations the engine ended as "cancelled". */
  cancelled: number;
  /**
   * Generations superseded while running whose abort was not signalled before the next started (must be 0).
   */
  supersededNotCancelled: number;
  /** Most generations running at once in the engine (must be 1). */
  maxConcurrentEngine: number;
  /** Most un-cancelled generations in flight at once on the caller's side (must be 1). */
  maxConcurrentCaller: number;
  pendingCancelsAtEnd: number;
  suggestions: number;
  latencyMs: { p50: number; p95: number; max: number };
  rss: { engineStartMB: number; engineEndMB: number; callerStartMB: number; callerEndMB: number };
  /** RSS while typing, from the warm start to the last answer. */
  rssSamples: RssSample[];
  engineTrend: RssTrend;
  callerTrend: RssTrend;
  lastSuggestion: string | undefined;
  /** The last generation's text, and a fresh engine's for the same request (must be equal). */
  lastGeneration: string;
  freshGeneration: string;
  /** A fresh controller's suggestion for the final text (informative). */
  freshControllerSuggestion: string | undefined;
  failures: string[];
  machine: string;
}

const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** Anonymous and file-backed resident memory of a process (Linux's /proc/PID/status), MB; {} elsewhere. */
function residentKinds(pid: number | undefined): { engineAnonMB?: number; engineFileMB?: number } {
  if (pid === undefined || process.platform !== "linux") return {};
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kB = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
    return { engineAnonMB: mb(kB("RssAnon") * 1024), engineFileMB: mb(kB("RssFile") * 1024) };
  } catch {
    return {};
  }
}

/** Python from the shared corpus: a context above the cursor, then the text to type. */
function script(chars: number): { context: string; typed: string } {
  const dir = join(SHARED, "corpus", "python");
  let all = "";
  for (const f of readdirSync(dir).sort()) {
    all += `${readFileSync(join(dir, f), "utf8").replace(/\r\n/g, "\n")}\n\n`;
    if (all.length > chars + 4000) break;
  }
  const cut = all.indexOf("\n", 1500) + 1;
  return { context: all.slice(0, cut), typed: all.slice(cut, cut + chars) };
}

/** Records every generation the controller starts, its abort and its end. */
class RecordingEngine implements CompletionEngine {
  readonly generations: Generation[] = [];
  last: { params: GenerateParams; result: GenerateResult } | undefined;
  inFlight = 0;
  maxInFlight = 0;
  constructor(private readonly inner: EngineClient) {}

  async generate(
    params: GenerateParams,
    hooks: { signal?: AbortSignal; onText?: (text: string) => void } = {},
  ): Promise<GenerateResult> {
    const g: Generation = { launchedAt: performance.now() };
    this.generations.push(g);
    // Un-cancelled generations in flight: an aborted one no longer counts (the engine stops it between two
    // tokens).
    const live = () =>
      this.generations.filter((x) => x.finishedAt === undefined && x.abortedAt === undefined).length;
    this.maxInFlight = Math.max(this.maxInFlight, live());
    hooks.signal?.addEventListener("abort", () => (g.abortedAt = performance.now()), { once: true });
    try {
      const r = await this.inner.generate(params, hooks);
      g.stopReason = r.stopReason;
      this.last = { params, result: r };
      Object.assign(g, {
        prefillMs: r.prefillMs,
        promptTokens: r.promptTokens,
        reusedTokens: r.reusedTokens,
        tokens: r.ids.length,
      });
      return r;
    } catch (e) {
      g.error = e instanceof Error ? e.message : String(e);
      throw e;
    } finally {
      g.finishedAt = performance.now();
    }
  }
}

function request(text: string): CompletionRequest {
  return {
    docKey: "file:///load/session.py",
    languageId: "python",
    textBefore: text,
    beforeStart: 0,
    textAfter: "\n",
    tabSize: 4,
    manual: false,
  };
}

export async function runTypingLoad(o: LoadOptions): Promise<LoadReport> {
  const log = o.log ?? (() => undefined);
  // No time budget: a suggestion cut by the clock would differ from a fresh request's for no fault.
  const settings: CompletionSettings = { ...DEFAULTS, debounceMs: o.debounceMs ?? 0, timeLimitMs: 60_000 };
  const cacheDir = o.cacheDir ?? TEST_CACHE;
  const tokenizer = promptTokenizer(SentencePieceTokenizer.fromFile(join(DEMO_MODEL, "tokenizer.model")));
  const { context, typed } = script(o.keystrokes);
  const failures: string[] = [];

  const client = new EngineClient({ modelDir: DEMO_MODEL, ep: "cpu", cacheDir });
  const fresh = new EngineClient({ modelDir: DEMO_MODEL, ep: "cpu", cacheDir });
  try {
    const info = await client.start();
    const engine = new RecordingEngine(client);
    const makeController = (e: CompletionEngine) =>
      new CompletionController({
        engine: e,
        model: async () => ({ key: "demo", tokenizer, maxPositions: info.config.maxPositionEmbeddings }),
        steering: () => undefined,
        settings: () => settings,
      });
    const controller = makeController(engine);

    // Warm-up: the first generations allocate onnxruntime's buffers; memory is measured after them.
    // The last one has the whole text to be typed before the cursor, so its prompt is as long as
    // the session's will get (the token budget): onnxruntime's arena grows to its largest
    // buffers here, not while typing, where it would look like a leak.
    for (const p of [context, context + typed.slice(0, 40), context + typed])
      await controller.provide({ ...request(p), manual: true });
    // The session starts with no cached suggestion: the last keystroke's text is the warm-up's
    // last, and a cache hit there would leave the previous generation, cancelled, as the last one.
    controller.reset();
    const statsStart = (await client.stats())!;
    const callerStart = process.memoryUsage().rss;
    const warmGenerations = engine.generations.length;
    log(
      `start: engine RSS ${mb(statsStart.rss)} MB, caller RSS ${mb(callerStart)} MB; typing ` +
        `${o.keystrokes} keystrokes at ${o.rate}/s (debounce ${settings.debounceMs} ms)`,
    );

    const latencies: number[] = [];
    let suggestions = 0;
    let previous: AbortController | undefined;
    let last: Promise<string | undefined> = Promise.resolve(undefined);
    const interval = 1000 / o.rate;
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const t0 = performance.now();
    const rssSamples: RssSample[] = [];
    const sample = async () => {
      const st = await client.stats();
      if (st)
        rssSamples.push({
          t: Math.round(performance.now() - t0) / 1000,
          engineMB: mb(st.rss),
          callerMB: mb(process.memoryUsage().rss),
          engineHeapTotalMB: mb(st.heapTotal),
          engineHeapMB: mb(st.heapUsed),
          engineExternalMB: mb(st.external),
          engineArrayBuffersMB: mb(st.arrayBuffers),
          ...residentKinds(client.pid),
        });
    };
    await sample();
    const sessionSeconds = o.keystrokes / o.rate;
    const every = o.sampleSeconds ?? Math.min(10, Math.max(1, sessionSeconds / 200));
    let sampling: Promise<void> = Promise.resolve();
    const sampler = setInterval(() => {
      sampling = sampling.then(sample).catch((e: unknown) => log(`RSS sample failed: ${String(e)}`));
    }, every * 1000);
    for (let i = 0; i < o.keystrokes; i++) {
      await sleep(t0 + i * interval - performance.now());
      previous?.abort(); // VS Code cancels the previous request on every keystroke
      const ctrl = new AbortController();
      previous = ctrl;
      const pressed = performance.now();
      last = controller.provide(request(context + typed.slice(0, i + 1)), ctrl.signal).then((s) => {
        if (s) {
          suggestions++;
          latencies.push(performance.now() - pressed);
        }
        return s?.text;
      });
      if (i > 0 && i % Math.max(1, Math.round(o.keystrokes / 10)) === 0)
        log(
          `${i} keystrokes, ${engine.generations.length - warmGenerations} ` +
            `generations, ${suggestions} suggestions shown`,
        );
    }
    const typingSeconds = (performance.now() - t0) / 1000;
    lag.disable();
    const lastAt = performance.now();
    const lastSuggestion = await last;
    const lastLatencyMs = performance.now() - lastAt;
    const wallSeconds = (performance.now() - t0) / 1000;
    while (controller.busy) await sleep(10);
    clearInterval(sampler);
    await sampling;
    await sample();
    const statsEnd: WorkerStats = (await client.stats())!;
    const callerEnd = process.memoryUsage().rss;
    const engineTrend = rssTrend(rssSamples, (x) => x.engineMB);
    const callerTrend = rssTrend(rssSamples, (x) => x.callerMB);

    // The last generation's request (the same prompt and settings) to a fresh engine process,
    // which has no cached prefix: the text must be the same (the cache reuse is exact).
    await fresh.start();
    const lastGen = engine.last!;
    const freshResult = await fresh.generate(lastGen.params);
    // And the whole request to a fresh controller too (informative: its prompt window may start
    // elsewhere, since a window is kept stable while typing for the cache's sake).
    const freshControllerSuggestion = (await makeController(fresh).provide(request(context + typed)))?.text;

    // Invariants.
    const gens = engine.generations;
    if (process.env.LOAD_DEBUG)
      for (const g of gens.slice(-30))
        log(
          JSON.stringify({
            ...g,
            launchedAt: Math.round(g.launchedAt - t0),
            abortedAt: g.abortedAt && Math.round(g.abortedAt - t0),
            finishedAt: g.finishedAt && Math.round(g.finishedAt - t0),
          }),
        );
    let supersededNotCancelled = 0;
    for (let k = 0; k + 1 < gens.length; k++) {
      const g = gens[k]!;
      const next = gens[k + 1]!.launchedAt;
      const stillRunning = g.finishedAt === undefined || g.finishedAt > next;
      if (stillRunning && (g.abortedAt === undefined || g.abortedAt > next)) supersededNotCancelled++;
    }
    const errors = gens.filter((g) => g.error !== undefined);
    if (errors.length) failures.push(`${errors.length} generations failed (first: ${errors[0]!.error})`);
    if (supersededNotCancelled > 0)
      failures.push(`${supersededNotCancelled} superseded generations were not cancelled`);
    if (statsEnd.maxRunning > 1) failures.push(`the engine ran ${statsEnd.maxRunning} generations at once`);
    if (engine.maxInFlight > 1)
      failures.push(`${engine.maxInFlight} un-cancelled generations were in flight at once`);
    if (statsEnd.pendingCancels !== 0)
      failures.push(`${statsEnd.pendingCancels} cancel requests left pending in the engine`);
    const lateFinishers = gens.filter(
      (g) => g.abortedAt !== undefined && g.stopReason !== undefined && g.stopReason !== "cancelled",
    ).length;
    const cancelled = statsEnd.cancelled - statsStart.cancelled;
    if (gens.length - warmGenerations > 1 && cancelled === 0) failures.push("no generation was cancelled");
    if (cancelled + lateFinishers < gens.filter((g) => g.abortedAt !== undefined).length)
      failures.push("aborted generations neither cancelled nor finished");
    // Flat memory: at most 20% + 48 MB above the warm start (a leak of one buffer per request would exceed
    // it).
    const flat = (start: number, end: number) => end <= start * 1.2 + 48 * 2 ** 20;
    if (!flat(statsStart.rss, statsEnd.rss))
      failures.push(`engine RSS grew from ${mb(statsStart.rss)} to ${mb(statsEnd.rss)} MB`);
    if (!flat(callerStart, callerEnd))
      failures.push(`caller RSS grew from ${mb(callerStart)} to ${mb(callerEnd)} MB`);
    // Levels off: the second half's trend stays under the limit (a leak rises steadily; a
    // prompt growing to its token budget rises early, then stays).
    for (const [who, trend] of [
      ["engine", engineTrend],
      ["caller", callerTrend],
    ] as const)
      if (trend.growing)
        failures.push(
          `${who} RSS still grows in the second half: ${trend.secondHalfMBPerMin} MB/min ` +
            `(limits ${GROWTH_LIMIT_MB_PER_MIN} MB/min and ${GROWTH_LIMIT_MB} MB over the half)`,
        );
    if (lastGen.result.stopReason === "cancelled") failures.push("the last generation was cancelled");
    if (lastGen.result.text !== freshResult.text)
      failures.push(
        `the last generation ${JSON.stringify(lastGen.result.text)} differs from a fresh ` +
          `engine's ${JSON.stringify(freshResult.text)} for the same request`,
      );

    return {
      keystrokes: o.keystrokes,
      rate: o.rate,
      debounceMs: settings.debounceMs,
      wallSeconds: Math.round(wallSeconds * 10) / 10,
      typingSeconds: Math.round(typingSeconds * 10) / 10,
      callerLagMs: { p99: Math.round(lag.percentile(99) / 1e6), max: Math.round(lag.max / 1e6) },
      lastLatencyMs: Math.round(lastLatencyMs),
      generations: gens.length - warmGenerations,
      cancelled,
      supersededNotCancelled,
      maxConcurrentEngine: statsEnd.maxRunning,
      maxConcurrentCaller: engine.maxInFlight,
      pendingCancelsAtEnd: statsEnd.pendingCancels,
      suggestions,
      latencyMs: {
        p50: Math.round(percentile(latencies, 50)),
        p95: Math.round(percentile(latencies, 95)),
        max: Math.round(Math.max(0, ...latencies)),
      },
      rss: {
        engineStartMB: mb(statsStart.rss),
        engineEndMB: mb(statsEnd.rss),
        callerStartMB: mb(callerStart),
        callerEndMB: mb(callerEnd),
      },
      rssSamples,
      engineTrend,
      callerTrend,
      lastSuggestion,
      lastGeneration: lastGen.result.text,
      freshGeneration: freshResult.text,
      freshControllerSuggestion,
      failures,
      machine: `${cpus()[0]?.model.trim()} × ${cpus().length}, load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")} at the end`,
    };
  } finally {
    await client.close();
    await fresh.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      keystrokes: { type: "string" },
      minutes: { type: "string" },
      rate: { type: "string" },
      debounce: { type: "string" },
      "sample-seconds": { type: "string" },
      svg: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const rate = Number(values.rate ?? 20);
  const minutes = values.minutes === undefined ? undefined : Number(values.minutes);
  if (minutes !== undefined && !(minutes > 0))
    throw new Error(`--minutes ${values.minutes}: give a number > 0`);
  const keystrokes =
    minutes !== undefined ? Math.round(minutes * 60 * rate) : Number(values.keystrokes ?? 2000);
  const r = await runTypingLoad({
    keystrokes,
    rate,
    debounceMs: values.debounce === undefined ? 0 : Number(values.debounce),
    sampleSeconds: values["sample-seconds"] === undefined ? undefined : Number(values["sample-seconds"]),
    log: (l) => console.error(l),
  });
  const svg = values.svg ?? join("docs", "load-test-rss.svg");
  if (svg) {
    const date = new Date().toISOString().slice(0, 16).replace("T", " ");
    writeFileSync(
      svg,
      rssChartSvg(r.rssSamples, `Typing load: RSS over ${(r.wallSeconds / 60).toFixed(1)} minutes`, [
        `${r.keystrokes} keystrokes at ${r.rate}/s, debounce ${r.debounceMs} ms, demo model on the CPU; ${date} UTC`,
        `${r.machine}`,
        `engine ${r.engineTrend.startMB} → ${r.engineTrend.endMB} MB (second half ${r.engineTrend.secondHalfMBPerMin} MB/min); ` +
          `caller ${r.callerTrend.startMB} → ${r.callerTrend.endMB} MB (${r.callerTrend.secondHalfMBPerMin} MB/min)`,
      ]),
    );
    console.error(`RSS chart written to ${svg}`);
  }
  if (values.json) console.log(JSON.stringify(r, null, 1));
  else {
    console.log(
      `typing load: ${r.keystrokes} keystrokes at ${r.rate}/s (debounce ${r.debounceMs} ms), ` +
        `typed in ${r.typingSeconds} s, ${r.wallSeconds} s with the last answer; ${r.machine}`,
    );
    console.log(
      `caller event-loop delay while typing: p99 ${r.callerLagMs.p99} ms, max ${r.callerLagMs.max} ms`,
    );
    console.log(
      `generations started ${r.generations}, cancelled ${r.cancelled}, superseded but ` +
        `not cancelled ${r.supersededNotCancelled}`,
    );
    console.log(
      `most generations at once: engine ${r.maxConcurrentEngine}, caller ` +
        `${r.maxConcurrentCaller}; cancels pending at the end ${r.pendingCancelsAtEnd}`,
    );
    console.log(
      `suggestions shown ${r.suggestions}; keystroke → suggestion p50 ${r.latencyMs.p50} ms, ` +
        `p95 ${r.latencyMs.p95} ms, max ${r.latencyMs.max} ms`,
    );
    console.log(
      `RSS engine ${r.rss.engineStartMB} → ${r.rss.engineEndMB} MB, caller ` +
        `${r.rss.callerStartMB} → ${r.rss.callerEndMB} MB`,
    );
    const trend = (t: RssTrend) =>
      `mean of the first tenth ${t.startMB} MB, of the last tenth ${t.endMB} MB; trend ` +
      `${t.firstHalfMBPerMin} MB/min in the first half, ${t.secondHalfMBPerMin} MB/min in the second ` +
      `(${t.growing ? "still growing" : "levelled off"})`;
    console.log(`engine RSS over ${r.rssSamples.length} samples: ${trend(r.engineTrend)}`);
    console.log(`caller RSS: ${trend(r.callerTrend)}`);
    const parts: Array<[string, (x: RssSample) => number | undefined]> = [
      ["V8 heap committed", (x) => x.engineHeapTotalMB],
      ["V8 heap used", (x) => x.engineHeapMB],
      ["external", (x) => x.engineExternalMB],
      ["arrayBuffers", (x) => x.engineArrayBuffersMB],
      ["anonymous resident", (x) => x.engineAnonMB],
      ["file-backed resident", (x) => x.engineFileMB],
    ];
    const breakdown = parts
      .filter(([, pick]) => r.rssSamples.every((x) => pick(x) !== undefined))
      .map(([name, pick]) => {
        const t = rssTrend(r.rssSamples, (x) => pick(x)!);
        return `${name} ${t.startMB} → ${t.endMB} MB (${t.secondHalfMBPerMin} MB/min)`;
      });
    if (breakdown.length)
      console.log(`engine memory, first tenth → last tenth (second-half trend): ${breakdown.join("; ")}`);
    console.log(
      `last generation ${JSON.stringify(r.lastGeneration)}; a fresh engine, same ` +
        `request: ${JSON.stringify(r.freshGeneration)}`,
    );
    console.log(
      `last suggestion shown ${JSON.stringify(r.lastSuggestion)}; a fresh controller's: ` +
        `${JSON.stringify(r.freshControllerSuggestion)}`,
    );
    console.log(r.failures.length ? `FAILED:\n  ${r.failures.join("\n  ")}` : "all invariants hold");
  }
  process.exitCode = r.failures.length ? 1 : 0;
}

if (process.argv[1]?.endsWith("load-session.ts")) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(2);
  });
}
