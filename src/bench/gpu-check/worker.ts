// One phase (exactness or speed) of one provider, in its own process: a provider that
// crashes or hangs takes only its phase down, each process's GPU memory is its own, and the
// CUDA phases can run on another onnxruntime-node (the one its providers were built for).
// The result file is rewritten after every check and figure, so a killed phase keeps its
// finished part.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../files/atomic-write";
import {
  convertAhead,
  isQuantized,
  onnxruntimeVersions,
  providerProbes,
  type CheckDtype,
  type CheckProvider,
  type SimulatedProvider,
} from "./adapter";
import { ProviderUnavailable, runExactness } from "./exactness";
import { placementOf } from "./placement";
import { reportJson, type PhaseResult } from "./report";
import { ProviderLeft, runSpeed, SpeedProviderUnavailable, type SpeedPlan } from "./speed";

export interface WorkerSpec {
  provider: CheckProvider;
  phase: "exactness" | "speed";
  deadlineMs: number;
  resultFile: string;
  cacheDir: string;
  threads?: number;
  simulate?: SimulatedProvider;
  // exactness
  dtypes: CheckDtype[];
  fixturesDir: string;
  demoModelDir: string;
  // speed
  speedModelDir?: string;
  speedModelLabel?: string;
  speedDtype?: CheckDtype;
  plan?: SpeedPlan;
  /** Wait for this file before timing (the speed model is prepared in parallel). */
  waitFor?: string;
}

export async function runWorker(specFile: string): Promise<void> {
  const spec = JSON.parse(readFileSync(specFile, "utf8")) as WorkerSpec;
  const t0 = Date.now();
  const result: PhaseResult = {
    provider: spec.provider,
    phase: spec.phase,
    status: "ran",
    fallbacks: [],
    checks: [],
    wall_s: 0,
    log: [],
    onnxruntime: onnxruntimeVersions(),
  };
  const save = () => {
    result.wall_s = (Date.now() - t0) / 1000;
    writeFileAtomic(spec.resultFile, reportJson(result));
  };
  const log = (line: string) => {
    result.log.push(line);
    console.error(`[${spec.provider} ${spec.phase}] ${line}`);
  };
  /** The provider did not start: every check of the phase is skipped with the reason, no figure is kept. */
  const unavailable = (reason: string) => {
    result.status = "unavailable";
    result.reason = reason;
    result.speed = undefined;
    result.checks = result.checks.filter((c) => c.provider !== spec.provider);
    result.checks.push({
      provider: spec.provider,
      dtype: "-",
      model: "-",
      check: `all ${spec.phase} checks`,
      reference: "-",
      status: "skip",
      gate: false,
      reason,
    });
  };
  const probe = spec.simulate
    ? { available: true, reason: `simulated ${spec.simulate.provider}: ${spec.simulate.mode} (test)` }
    : providerProbes().find((p) => p.name === spec.provider);
  result.probe = probe && { available: probe.available, reason: probe.reason };
  if (!probe?.available) {
    unavailable(probe?.reason ?? `unknown provider ${spec.provider}`);
    save();
    return;
  }
  save();
  try {
    if (spec.phase === "exactness") {
      const { fallbacks } = await runExactness({
        provider: spec.provider,
        dtypes: spec.dtypes,
        fixturesDir: spec.fixturesDir,
        demoModelDir: spec.demoModelDir,
        cacheDir: spec.cacheDir,
        threads: spec.threads,
        simulate: spec.simulate,
        record: (c) => {
          result.checks.push({ ...c, at_s: +((Date.now() - t0) / 1000).toFixed(2) });
          save();
        },
        log,
      });
      result.fallbacks = fallbacks;
      // Where the nodes of the demo model's graph (the 1.4B's structure) run, in the dtype the speed runs use.
      if (existsSync(join(spec.demoModelDir, "config.json"))) {
        const dtype = spec.provider === "cpu" ? "float32" : "float16";
        const modelPath = await convertAhead(spec.demoModelDir, dtype, spec.cacheDir);
        result.placement = placementOf(process.argv[1]!, modelPath, spec.provider);
        log(`node placement (demo model, ${dtype}): ${JSON.stringify(result.placement)}`);
        for (const q of spec.dtypes.filter(isQuantized)) {
          const path = await convertAhead(spec.demoModelDir, q, spec.cacheDir);
          result.quantized_placement ??= {};
          result.quantized_placement[q] = placementOf(process.argv[1]!, path, spec.provider);
          log(`node placement (demo model, ${q}): ${JSON.stringify(result.quantized_placement[q])}`);
        }
      }
    } else {
      if (spec.waitFor) await waitForFile(spec.waitFor, spec.deadlineMs);
      const ready = spec.waitFor ? readReady(spec.waitFor) : undefined;
      result.speed = await runSpeed({
        provider: spec.provider,
        dtype: spec.speedDtype ?? "float16",
        modelDir: spec.speedModelDir!,
        modelLabel: spec.speedModelLabel ?? spec.speedModelDir!,
        cacheDir: spec.cacheDir,
        plan: spec.plan!,
        deadlineMs: spec.deadlineMs,
        threads: spec.threads,
        simulate: spec.simulate,
        log,
        progress: (s) => {
          result.speed = s;
          save();
        },
      });
      if (ready) log(`speed model: ${JSON.stringify(ready)}`);
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (e instanceof ProviderUnavailable || e instanceof SpeedProviderUnavailable) unavailable(msg);
    else {
      // A run-time failure (a provider that left for the CPU included) fails the phase and,
      // in the exactness phase, counts as a failed check: nothing was silently run elsewhere.
      result.status = e instanceof WaitTimeout ? "timed-out" : "failed";
      // Figures taken before the provider failed stay in the file, apart: they are not a finished run.
      if (result.speed && result.status === "failed") {
        result.partial_speed = result.speed;
        result.speed = undefined;
      }
      result.reason = e instanceof ProviderLeft ? msg : `${msg.split("\n")[0]}`;
      if (spec.phase === "exactness")
        result.checks.push({
          provider: spec.provider,
          dtype: "-",
          model: "-",
          check: "provider ran every check",
          reference: "-",
          status: "fail",
          gate: true,
          reason: result.reason,
        });
      log(`failed: ${e instanceof Error ? (e.stack ?? msg) : msg}`);
    }
  }
  save();
}

class WaitTimeout extends Error {}

async function waitForFile(file: string, deadlineMs: number): Promise<void> {
  while (!existsSync(file)) {
    if (existsSync(`${file}.failed`))
      throw new Error(
        `the speed model could not be prepared: ${readFileSync(`${file}.failed`, "utf8").split("\n")[0]}`,
      );
    if (Date.now() > deadlineMs)
      throw new WaitTimeout(`the speed model was not ready in time (${file} missing at the deadline)`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function readReady(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}
