// Privacy: onnxruntime's telemetry is switched off before onnxruntime loads, in every process
// that loads it (the CLI, the engine process, the tests), through the one module that imports
// onnxruntime-node (src/engine/ort.ts). A run with a fresh HOME leaves nothing outside the
// cache folder: no ~/.cache/Microsoft (device id, event queue), nothing in the temp folder.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { DEMO_MODEL } from "../helpers/fixtures";
import { scratchDirs } from "./helpers";

const { fresh } = scratchDirs("reliability-privacy-");

/** Environment variables that make onnxruntime skip telemetry on its own (CI) or that we set. */
const CI_VARS = [
  "CI",
  "TF_BUILD",
  "GITHUB_ACTIONS",
  "GITLAB_CI",
  "CIRCLECI",
  "TRAVIS",
  "JENKINS_URL",
  "CODEBUILD_BUILD_ID",
  "BUILDKITE",
  "TEAMCITY_VERSION",
  "APPVEYOR",
  "BITBUCKET_BUILD_NUMBER",
  "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI",
  "ORT_RUNNING_UNIT_TESTS",
  "ORT_DISABLE_TELEMETRY",
  "ORT_TELEMETRY_DISABLED",
];

/** A clean environment with HOME and TMPDIR in fresh folders: nothing that would switch telemetry off for us. */
function freshEnv(label: string): { env: NodeJS.ProcessEnv; home: string; tmp: string } {
  const root = fresh(label);
  const home = join(root, "home");
  const tmp = join(root, "tmp");
  mkdirSync(home);
  mkdirSync(tmp);
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, TMPDIR: tmp, USERPROFILE: home };
  for (const v of [...CI_VARS, "MONET_LENS_CACHE", "XDG_CACHE_HOME"]) delete env[v];
  return { env, home, tmp };
}

/** Every path under `dir`, relative to it. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      out.push(relative(dir, p));
      if (statSync(p).isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** The temporary folder's entries, less tsx's compile cache (the test harness's, not the product's). */
const tmpEntries = (tmp: string) => tree(tmp).filter((p) => !p.startsWith("tsx-"));

const outsideCache = (home: string) =>
  tree(home).filter((p) => p !== ".cache" && !p.startsWith(join(".cache", "monet-lens")));

const run = (args: string[], env: NodeJS.ProcessEnv) =>
  spawnSync(process.execPath, args, { env, encoding: "utf8", timeout: 180_000, killSignal: "SIGKILL" });

describe("onnxruntime's telemetry", () => {
  it("only src/engine/ort.ts imports onnxruntime-node (everything else goes through it)", () => {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(ts|mts|cts|mjs|cjs|js)$/.test(n)) files.push(p);
      }
    };
    for (const d of ["src", "test", "native", "scripts", "webview"]) if (existsSync(d)) walk(d);
    const direct = files.filter((f) =>
      /(from\s+|require\s*\(\s*|import\s*\(\s*|import\s+)["']onnxruntime-node["']/.test(
        readFileSync(f, "utf8"),
      ),
    );
    assert.deepEqual(direct, [join("src", "engine", "ort.ts")]);
  });

  it("a generate with a fresh HOME (no CI variables) writes nothing outside ~/.cache/monet-lens: no ~/.cache/Microsoft, nothing in TMPDIR", () => {
    const { env, home, tmp } = freshEnv("cli");
    const r = run(
      [
        "--import",
        "tsx",
        join("src", "cli", "main.ts"),
        "generate",
        "--prompt",
        "def f(",
        "--max-tokens",
        "2",
        "--ep",
        "cpu",
        "--json",
      ],
      env,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.ok(
      existsSync(join(home, ".cache", "monet-lens", "converted")),
      "the CLI's cache is in ~/.cache/monet-lens",
    );
    assert.deepEqual(
      outsideCache(home),
      [],
      "nothing else in HOME (onnxruntime wrote ~/.cache/Microsoft before)",
    );
    assert.deepEqual(tmpEntries(tmp), [], "nothing in the temporary folder");
  });

  it("the engine process (as the extension starts it) with a fresh HOME writes nothing outside its cache folder", () => {
    const { env, home, tmp } = freshEnv("engine");
    const cache = join(home, ".cache", "monet-lens");
    const script = `(async () => {
      const { EngineClient } = require(${JSON.stringify(join(process.cwd(), "src", "engine", "engine-client.ts"))});
      const c = new EngineClient({ modelDir: ${JSON.stringify(DEMO_MODEL)}, ep: "cpu", cacheDir: ${JSON.stringify(cache)} });
      const r = await c.generate({ prompt: "x = ", maxTokens: 2 });
      await c.close();
      if (!(r.ids.length > 0)) process.exit(2);
      // This process never loaded onnxruntime: the engine process switched telemetry off itself.
      if ("ORT_DISABLE_TELEMETRY" in process.env) process.exit(3);
    })()`;
    const r = run(["--import", "tsx", "-e", script], env);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(outsideCache(home), []);
    assert.deepEqual(tmpEntries(tmp), []);
  });

  it("control: onnxruntime-node loaded directly, without src/engine/ort.ts, does record telemetry here (so the tests above can fail)", (t) => {
    const { env, home } = freshEnv("control");
    const model = join(process.cwd(), "test-output", "cache", "converted");
    const onnx = existsSync(model)
      ? readdirSync(model)
          .map((d) => join(model, d, "model.onnx"))
          .find((p) => existsSync(p))
      : undefined;
    if (!onnx) return t.skip("no converted model in test-output/cache yet");
    const ort = ["onnxruntime", "node"].join("-"); // spelled so that the import check above does not see it
    const script = `require(${JSON.stringify(ort)}).InferenceSession.create(${JSON.stringify(onnx)}).then(s => s.release())`;
    const r = run(["-e", script], env);
    assert.equal(r.status, 0, r.stderr);
    const recorded = outsideCache(home);
    t.diagnostic(
      `onnxruntime ${(require(`${ort}/package.json`) as { version: string }).version} unprotected wrote: ${recorded.join(", ") || "nothing"}`,
    );
    if (recorded.length === 0) t.skip("this onnxruntime records nothing even when not told to stop");
    else assert.ok(recorded.some((p) => p.includes("Microsoft")));
  });
});
