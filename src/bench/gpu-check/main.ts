// `node dist/gpu-check.js` (scripts/gpu-check.sh runs it): the GPU check.
//
//   gpu mode (default): for CUDA and WebGPU, exactness against the CPU float32 graph on the
//     random fixtures and the demo model (int8 and int4 graphs: against the CPU's quantized
//     graph with float32 activations), then speed on a random-weight 1.4B written here;
//   --dry-run: the same program on the CPU provider, the demo model as the speed model, small
//     contexts: proves the script before a GPU is at hand (a unit test runs it).
//
// Phases run one after another, each in its own process with a deadline inside --budget-s;
// the 1.4B checkpoint is written and converted in the background meanwhile. One JSON file per
// run goes to --out (bench/results/), a summary to stdout. Exit code: 0 when every exactness
// check that ran passed, 1 when one failed or a phase failed (a crash, a provider leaving for
// the CPU at run time), 2 when none of the asked-for providers ran (e.g. no GPU here).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { writeFileAtomic } from "../../files/atomic-write";
import type { CheckDtype, CheckProvider, SimulatedProvider } from "./adapter";
import { TOLERANCES } from "./exactness";
import { commitInfo, machineFacts } from "./machine";
import {
  REPORT_SCHEMA,
  checkName,
  reportJson,
  summaryTable,
  type GpuCheckReport,
  type PhaseResult,
} from "./report";
import { DRY_RUN_PLAN, GPU_PLAN, type SpeedPlan } from "./speed";
import { prepareSpeedModel } from "./speed-model";
import { runWorker, type WorkerSpec } from "./worker";

const USAGE = `usage: node dist/gpu-check.js [--dry-run] [--providers cuda,webgpu] [--budget-s S] [--out DIR]
  [--fixtures DIR] [--demo-model DIR] [--cache DIR] [--speed-model DIR | --synth-dir DIR]
  [--cuda-node-modules DIR] [--stage FILE] [--dtypes float16,float32,int8,int4] [--speed-dtype float16|float32|int8|int4] [--no-exactness] [--no-speed] [--simulate P:MODE[:N]]`;

interface Options {
  dryRun: boolean;
  providers: CheckProvider[];
  dtypes: CheckDtype[];
  /** The speed phase's graph: default what `--dtype auto` picks there (float16 on GPUs, float32 on the CPU). */
  speedDtype: CheckDtype;
  budgetS: number;
  out: string;
  fixtures: string;
  demoModel: string;
  cache: string;
  speedModel?: string;
  synthDir: string;
  cudaNodeModules?: string;
  stage?: string;
  speed: boolean;
  exactness: boolean;
  simulate?: SimulatedProvider;
  threads?: number;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      "dry-run": { type: "boolean" },
      providers: { type: "string" },
      dtypes: { type: "string" },
      "speed-dtype": { type: "string" },
      "budget-s": { type: "string" },
      out: { type: "string" },
      fixtures: { type: "string" },
      "demo-model": { type: "string" },
      cache: { type: "string" },
      "speed-model": { type: "string" },
      "synth-dir": { type: "string" },
      "cuda-node-modules": { type: "string" },
      stage: { type: "string" },
      "no-speed": { type: "boolean" },
      "no-exactness": { type: "boolean" },
      simulate: { type: "string" },
      threads: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const dryRun = values["dry-run"] ?? false;
  const list = <T extends string>(
    text: string | undefined,
    allowed: readonly T[],
    fallback: T[],
    name: string,
  ): T[] => {
    if (text === undefined) return fallback;
    const items = text.split(",").map((s) => s.trim()) as T[];
    for (const i of items)
      if (!allowed.includes(i)) throw new UsageError(`--${name}: ${i} is not one of ${allowed.join(", ")}`);
    return items;
  };
  const number = (text: string | undefined, name: string, fallback: number) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number`);
    return n;
  };
  let simulate: SimulatedProvider | undefined;
  if (values.simulate) {
    const [provider, mode, okRuns] = values.simulate.split(":");
    if ((provider !== "cuda" && provider !== "webgpu") || (mode !== "open-fails" && mode !== "run-fails"))
      throw new UsageError("--simulate takes cuda|webgpu:open-fails|run-fails[:N] (tests)");
    simulate = { provider, mode, okRuns: okRuns === undefined ? undefined : Number(okRuns) };
  }
  return {
    dryRun,
    providers: list(
      values.providers,
      ["cuda", "webgpu", "cpu"] as const,
      dryRun ? ["cpu"] : ["cuda", "webgpu"],
      "providers",
    ),
    dtypes: list(values.dtypes, CHECK_DTYPES, [...CHECK_DTYPES], "dtypes"),
    speedDtype: one(
      // Default: what --dtype auto picks there.
      list(values["speed-dtype"], CHECK_DTYPES, [dryRun ? "float32" : "float16"], "speed-dtype"),
      "speed-dtype",
    ),
    budgetS: number(values["budget-s"], "budget-s", dryRun ? 120 : 450),
    out: resolve(values.out ?? join("bench", "results")),
    fixtures: resolve(values.fixtures ?? join("..", "shared", "fixtures")),
    demoModel: resolve(values["demo-model"] ?? join("models", "tiny-codemonet")),
    cache: resolve(
      values.cache ??
        process.env.MONET_LENS_CACHE ??
        join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "monet-lens"),
    ),
    speedModel: values["speed-model"] && resolve(values["speed-model"]),
    synthDir: resolve(values["synth-dir"] ?? join(tmpdir(), "monet-gpu-check-1.4b")),
    cudaNodeModules: values["cuda-node-modules"] && resolve(values["cuda-node-modules"]),
    stage: values.stage && resolve(values.stage),
    speed: !values["no-speed"],
    exactness: !values["no-exactness"],
    simulate,
    threads: values.threads === undefined ? undefined : number(values.threads, "threads", 1),
  };
}

class UsageError extends Error {}

/** The single item of an option that takes one value. */
function one<T>(items: T[], name: string): T {
  if (items.length !== 1) throw new UsageError(`--${name} takes one value`);
  return items[0]!;
}

/** The graphs the exactness phase checks by default: the GPU default, float32, and the quantized ones. */
const CHECK_DTYPES = ["float16", "float32", "int8", "int4"] as const satisfies readonly CheckDtype[];

/** The engine's probe of `provider` in the process (and onnxruntime-node) that would run it. */
function probeIn(
  bundle: string,
  provider: CheckProvider,
  simulate?: SimulatedProvider,
): { available: boolean; reason: string } {
  if (simulate?.provider === provider) return { available: true, reason: "simulated (test)" };
  const r = spawnSync(process.execPath, [bundle, "probe", provider], { encoding: "utf8", timeout: 60_000 });
  try {
    return JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "") as { available: boolean; reason: string };
  } catch {
    return {
      available: false,
      reason: `probing failed: ${(r.stderr || String(r.error ?? r.status)).trim().slice(0, 300)}`,
    };
  }
}

/** The bundle that runs a provider's phases: CUDA's next to the onnxruntime-node its providers fit. */
function bundleFor(provider: CheckProvider, o: Options): string {
  if (provider !== "cuda" || !o.cudaNodeModules) return __filename;
  if (!existsSync(join(o.cudaNodeModules, "onnxruntime-node", "package.json")))
    throw new Error(`--cuda-node-modules ${o.cudaNodeModules} has no onnxruntime-node`);
  // Node resolves onnxruntime-node from the script's folder upwards: put a copy beside that node_modules.
  const copy = join(dirname(o.cudaNodeModules), "gpu-check.js");
  copyFileSync(__filename, copy);
  return copy;
}

function runPhase(bundle: string, spec: WorkerSpec, graceMs: number): Promise<PhaseResult> {
  writeFileSync(`${spec.resultFile}.spec.json`, JSON.stringify(spec));
  return new Promise((done) => {
    const t0 = Date.now();
    const child: ChildProcess = spawn(process.execPath, [bundle, "worker", `${spec.resultFile}.spec.json`], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    let killed = false;
    const timer = setTimeout(
      () => {
        killed = true;
        child.kill("SIGKILL");
      },
      Math.max(1000, spec.deadlineMs - Date.now() + graceMs),
    );
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      let result: PhaseResult | undefined;
      try {
        result = JSON.parse(readFileSync(spec.resultFile, "utf8")) as PhaseResult;
      } catch {
        result = undefined;
      }
      const base: PhaseResult = result ?? {
        provider: spec.provider,
        phase: spec.phase,
        status: "failed",
        fallbacks: [],
        checks: [],
        wall_s: (Date.now() - t0) / 1000,
        log: [],
      };
      if (killed) {
        base.status = "timed-out";
        base.reason = `killed at the phase's deadline (${((Date.now() - t0) / 1000).toFixed(0)} s); finished checks and figures kept`;
      } else if (code !== 0) {
        base.status = "failed";
        base.reason = `the phase's process ended with ${signal ?? `exit code ${code}`}${base.reason ? `; ${base.reason}` : ""}`;
        if (spec.phase === "exactness")
          base.checks.push({
            provider: spec.provider,
            dtype: "-",
            model: "-",
            check: "provider ran every check",
            reference: "-",
            status: "fail",
            gate: true,
            reason: base.reason,
          });
      }
      done(base);
    });
  });
}

export async function main(argv: string[]): Promise<number> {
  const o = options(argv);
  const started = new Date();
  const t0 = Date.now();
  const budgetEnd = t0 + o.budgetS * 1000;
  const work = mkdtempSync(join(tmpdir(), "monet-gpu-check-"));
  const providers: GpuCheckReport["providers"] = {};
  const phasesOf = (p: string) => {
    providers[p] ??= {};
    return providers[p]!;
  };
  const say = (line: string) => console.error(`[gpu-check] ${line}`);
  const plan: SpeedPlan = o.dryRun ? DRY_RUN_PLAN : GPU_PLAN;
  const speedDtype = o.speedDtype;
  const machine = machineFacts();
  say(`${o.dryRun ? "dry run" : "gpu mode"}: providers ${o.providers.join(", ")}; budget ${o.budgetS} s`);

  // The speed model: given, the demo model (dry run), or a 1.4B written in the background now.
  const speedModelDir = o.speedModel ?? (o.dryRun ? o.demoModel : o.synthDir);
  const speedModelLabel = o.speedModel
    ? o.speedModel
    : o.dryRun
      ? "demo model (tiny-codemonet, 41M)"
      : "CodeMonet-VD 1.4B shape, random weights (monet-lens synth --shape 1.4b, moe_topk 8)";
  // Writing the 1.4B (2.9 GB) and converting it (minutes of CPU) only pays when some provider can run.
  const probes = Object.fromEntries(o.providers.map((p) => [p, probeIn(bundleFor(p, o), p, o.simulate)]));
  const hasGpu = ((machine.gpus as unknown[] | undefined) ?? []).length > 0;
  const anyAvailable = Object.values(probes).some((p) => p.available) && (o.dryRun || !!o.simulate || hasGpu);
  if (!anyAvailable) say(`nothing to time here: no GPU listed by nvidia-smi, or ${JSON.stringify(probes)}`);
  let prep: ChildProcess | undefined;
  let waitFor: string | undefined;
  if (o.speed && anyAvailable) {
    waitFor = join(work, "speed-model-ready");
    prep = spawn(
      process.execPath,
      [
        __filename,
        "prepare-speed-model",
        speedModelDir,
        o.cache,
        speedDtype,
        waitFor,
        String(!o.speedModel && !o.dryRun),
      ],
      // Its own process group, so that the synth it starts ends with it (a leftover would keep writing).
      { stdio: ["ignore", "inherit", "inherit"], detached: true },
    );
    const group = prep.pid;
    process.on("exit", () => killGroup(group));
    prep.on("exit", (code) => {
      if (code !== 0) say(`preparing the speed model failed (exit ${code})`);
    });
  }

  const deadline = (phaseEnd: number, left: number) =>
    Date.now() + Math.max(5000, (phaseEnd - Date.now()) / left);
  try {
    const exactnessEnd = t0 + (o.speed ? 0.4 : 0.9) * o.budgetS * 1000;
    for (const [i, p] of (o.exactness ? o.providers : []).entries()) {
      const spec: WorkerSpec = {
        provider: p,
        phase: "exactness",
        deadlineMs: deadline(exactnessEnd, o.providers.length - i),
        resultFile: join(work, `${p}-exactness.json`),
        cacheDir: o.cache,
        threads: o.threads,
        simulate: o.simulate?.provider === p ? o.simulate : undefined,
        dtypes: o.dtypes,
        fixturesDir: o.fixtures,
        demoModelDir: o.demoModel,
      };
      say(`${p}: exactness (until ${new Date(spec.deadlineMs).toISOString()})`);
      phasesOf(p).exactness = await runPhase(bundleFor(p, o), spec, 15_000);
    }
    if (o.speed) {
      for (const [i, p] of o.providers.entries()) {
        if (!probes[p]!.available || !waitFor) {
          const why = probes[p]!.available
            ? "not timed: no GPU listed by nvidia-smi here"
            : probes[p]!.reason;
          phasesOf(p).speed = unavailablePhase(p, "speed", why);
          continue;
        }
        if (providers[p]?.exactness?.status === "unavailable") {
          providers[p]!.speed = {
            ...providers[p]!.exactness!,
            phase: "speed",
            checks: [],
            log: [],
            wall_s: 0,
          };
          continue;
        }
        const spec: WorkerSpec = {
          provider: p,
          phase: "speed",
          deadlineMs: deadline(budgetEnd - 10_000, o.providers.length - i),
          resultFile: join(work, `${p}-speed.json`),
          cacheDir: o.cache,
          threads: o.threads,
          simulate: o.simulate?.provider === p ? o.simulate : undefined,
          dtypes: o.dtypes,
          fixturesDir: o.fixtures,
          demoModelDir: o.demoModel,
          speedModelDir,
          speedModelLabel,
          speedDtype,
          plan,
          waitFor,
        };
        say(`${p}: speed (until ${new Date(spec.deadlineMs).toISOString()})`);
        phasesOf(p).speed = await runPhase(bundleFor(p, o), spec, 15_000);
      }
    }
  } finally {
    if (prep && prep.exitCode === null) {
      say("the speed model was not ready: stopping its preparation");
      killGroup(prep.pid);
    }
  }

  const report = assemble(o, started, t0, machine, providers, plan, speedDtype, speedModelLabel);
  if (waitFor && existsSync(waitFor)) report.speed_model = JSON.parse(readFileSync(waitFor, "utf8"));
  const file = join(
    o.out,
    `${o.dryRun ? "dry-run-" : ""}${started.toISOString().replace(/[:.]/g, "-")}-${gpuSlug(machine)}-${report.commit.id.slice(0, 7)}.json`,
  );
  mkdirSync(o.out, { recursive: true });
  writeFileAtomic(file, reportJson(report));
  console.log(summaryTable(report));
  console.log(`\nwrote ${file}`);
  rmSync(work, { recursive: true, force: true });
  return report.summary.exit_code;
}

function killGroup(pid: number | undefined): void {
  try {
    if (pid) process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function unavailablePhase(provider: string, phase: PhaseResult["phase"], reason: string): PhaseResult {
  return { provider, phase, status: "unavailable", reason, fallbacks: [], checks: [], wall_s: 0, log: [] };
}

function gpuSlug(machine: Record<string, unknown>): string {
  const gpus = (machine.gpus as Array<{ name: string }> | undefined) ?? [];
  const name = gpus[0]?.name ?? "cpu";
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

function assemble(
  o: Options,
  started: Date,
  t0: number,
  machine: Record<string, unknown>,
  providers: GpuCheckReport["providers"],
  plan: SpeedPlan,
  speedDtype: CheckDtype,
  speedModelLabel: string,
): GpuCheckReport {
  const phases = Object.values(providers).flatMap((p) =>
    [p.exactness, p.speed].filter((x): x is PhaseResult => !!x),
  );
  const gated = phases.flatMap((p) => p.checks.filter((c) => c.gate));
  const failed = gated.filter((c) => c.status === "fail").map(checkName);
  const ran = Object.entries(providers)
    .filter(([, p]) => p.exactness?.status === "ran" || p.speed?.status === "ran")
    .map(([name]) => name);
  const notRun = Object.fromEntries(
    Object.entries(providers)
      .filter(([name]) => !ran.includes(name))
      .map(([name, p]) => [name, p.exactness?.reason ?? p.speed?.reason ?? "not run"]),
  );

  // A phase that failed (a crash, a provider leaving at run time) fails the run like a wrong logit.
  const failedPhases = phases
    .filter((p) => p.status === "failed")
    .map((p) => `${p.provider}/${p.phase}: ${p.reason}`);
  const exitCode = failed.length || failedPhases.length ? 1 : ran.length === 0 ? 2 : 0;
  return {
    schema: REPORT_SCHEMA,
    mode: o.dryRun ? "dry-run" : "gpu",
    started: started.toISOString(),
    wall_s: (Date.now() - t0) / 1000,
    budget_s: o.budgetS,
    commit: commitInfo(o.stage),
    machine,
    plan: {
      providers: o.providers,
      exactness_dtypes: o.dtypes,
      speed_dtype: speedDtype,
      speed_model: speedModelLabel,
      speed: o.speed ? plan : "not run (--no-speed)",
      cuda_node_modules: o.cudaNodeModules ?? null,
      stage: o.stage && existsSync(o.stage) ? JSON.parse(readFileSync(o.stage, "utf8")) : null,
    },
    tolerances: TOLERANCES,
    providers,
    summary: {
      exactness: gated.length === 0 ? "not run" : failed.length ? "fail" : "pass",
      failed_checks: failed,
      failed_phases: failedPhases,
      providers_ran: ran,
      providers_not_run: notRun,
      exit_code: exitCode,
    },
  };
}

async function prepareCommand(args: string[]): Promise<void> {
  const [dir, cacheDir, dtype, readyFile, synth] = args as [string, string, CheckDtype, string, string];
  // A failure is written where the speed phases wait, so that they stop waiting and say why.
  const failed = (e: unknown) => {
    writeFileSync(`${readyFile}.failed`, e instanceof Error ? (e.stack ?? e.message) : String(e));
    throw e;
  };
  await prepareSpeedModel({
    dir,
    synth: synth === "true",
    cacheDir,
    dtype,
    readyFile,
    cliPath: join(__dirname, "cli.js"),
    log: (line) => console.error(`[speed model] ${line}`),
  }).catch(failed);
}

if (require.main === module) {
  const [command, ...rest] = process.argv.slice(2);
  const task =
    command === "worker"
      ? runWorker(rest[0]!).then(() => 0)
      : command === "prepare-speed-model"
        ? prepareCommand(rest).then(() => 0)
        : command === "placement"
          ? import("./adapter").then(async (a) => {
              await a.openWithPlacementLog(rest[0]!, rest[1] as CheckProvider);
              return 0;
            })
          : command === "probe"
            ? import("./adapter").then((a) => {
                const p = a.providerProbes().find((x) => x.name === rest[0]);
                console.log(JSON.stringify(p ?? { available: false, reason: `unknown provider ${rest[0]}` }));
                return 0;
              })
            : main(process.argv.slice(2));
  task.then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(
        e instanceof UsageError ? `${e.message}\n${USAGE}` : e instanceof Error ? (e.stack ?? e.message) : e,
      );
      process.exit(e instanceof UsageError ? 64 : 1);
    },
  );
}
