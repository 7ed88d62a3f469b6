// The command-line tool as npm users get it: `npm pack` of this checkout, then
// `npm install -g` of that tarball into a fresh prefix (ONNXRUNTIME_NODE_INSTALL=skip; its
// dependencies from the registry or npm's cache), and `monet-lens` run from that prefix in a
// folder outside the checkout. Its `info --json` and greedy `generate` (with and without a
// language mask, so the embedded model, the engine process and the shipped atlas are all
// found inside the installed package) must equal the checkout's own dist/cli.js.
//
//   npm run test:npm        (.ci/run runs it after npm test)
//
// A script rather than a unit test: it needs the npm registry (or npm's cache) for
// onnxruntime-node, writes about 400 MB and takes a minute, and `npm test` stays offline.
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { modelFiles } from "../../scripts/platforms";

const ROOT = resolve(__dirname, "..", "..");
const PROMPT = 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n';

/** Exactly what the npm package holds: the tool, its engine process, the model, the docs. */
const TARBALL_FILES = [
  "package.json",
  "README.md",
  "LICENSE",
  "CHANGELOG.md",
  "dist/cli.js",
  "dist/engine-worker.js",
  // package.json's "main": npm packs it whatever the ignore list says.
  "dist/extension.js",
  ...modelFiles(ROOT),
].sort();

const results: Array<{ name: string; ok: boolean; error?: string }> = [];
const t0 = Date.now();
const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);

function log(line: string): void {
  process.stdout.write(`npm-install [${seconds(t0)} s]: ${line}\n`);
}

function check(name: string, f: () => void): void {
  try {
    f();
    results.push({ name, ok: true });
    log(`ok ${name}`);
  } catch (e) {
    results.push({ name, ok: false, error: (e as Error).message });
    log(`FAILED ${name}: ${(e as Error).message}`);
  }
}

function run(cmd: string, args: string[], options: SpawnSyncOptions = {}): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20, ...options });
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(" ")} failed (exit ${r.status ?? r.signal}):\n${r.stderr}${r.stdout}`,
    );
  return String(r.stdout);
}

function equal(what: string, got: unknown, expected: unknown): void {
  if (JSON.stringify(got) !== JSON.stringify(expected))
    throw new Error(`${what}: ${JSON.stringify(got)}\n  expected ${JSON.stringify(expected)}`);
}

function main(): number {
  const tmp = mkdtempSync(join(tmpdir(), "monet-lens-npm-"));
  try {
    const packDir = join(tmp, "pack");
    const prefix = join(tmp, "prefix");
    const outside = join(tmp, "elsewhere");
    for (const d of [packDir, prefix, outside]) mkdirSync(d);
    const env = {
      ...process.env,
      ONNXRUNTIME_NODE_INSTALL: "skip",
      npm_config_audit: "false",
      npm_config_fund: "false",
      npm_config_update_notifier: "false",
    };

    // npm pack (its prepack script builds dist/ first).
    const tPack = Date.now();
    const packed = JSON.parse(
      run("npm", ["pack", "--json", "--pack-destination", packDir], { cwd: ROOT, env }),
    ) as Array<{ filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> }>;
    const pkg = packed[0]!;
    const tarball = join(packDir, pkg.filename);
    log(
      `npm pack: ${pkg.filename}, ${(statSync(tarball).size / 2 ** 20).toFixed(1)} MiB (${(pkg.unpackedSize / 2 ** 20).toFixed(1)} MiB unpacked, ${pkg.files.length} files) in ${seconds(tPack)} s`,
    );
    check("the tarball holds exactly the tool, its engine, the demo model, the atlas and the docs", () =>
      equal("tarball files", pkg.files.map((f) => f.path).sort(), TARBALL_FILES),
    );

    // npm install -g into a fresh prefix, from the tarball.
    const tInstall = Date.now();
    run("npm", ["install", "--global", "--prefix", prefix, "--prefer-offline", tarball], {
      cwd: outside,
      env,
    });
    log(`npm install -g (fresh prefix, from the tarball): ${seconds(tInstall)} s`);
    const bin = join(prefix, "bin", "monet-lens");
    const installed = join(prefix, "lib", "node_modules", "monet-lens");

    check("monet-lens is installed as a command that runs the installed package's dist/cli.js", () =>
      equal("the command's target", realpathSync(bin), realpathSync(join(installed, "dist", "cli.js"))),
    );
    check("the installed package has its runtime dependency and no development ones", () => {
      const modules = readdirSync(join(installed, "node_modules"));
      if (!modules.includes("onnxruntime-node"))
        throw new Error(`no onnxruntime-node in ${modules.join(", ")}`);
      for (const dev of ["typescript", "esbuild", "d3", "@vscode", "playwright-core"])
        if (modules.includes(dev)) throw new Error(`a development dependency was installed: ${dev}`);
    });

    // The installed copy, from a folder outside the checkout, against the checkout's own build.
    const installedCli = (args: string[]) =>
      run(bin, args, { cwd: outside, env: { ...env, MONET_LENS_CACHE: join(tmp, "cache-installed") } });
    const checkoutCli = (args: string[]) =>
      run(process.execPath, [join(ROOT, "dist", "cli.js"), ...args], {
        cwd: ROOT,
        env: { ...env, MONET_LENS_CACHE: join(tmp, "cache-checkout") },
      });
    check(
      "info --json: the embedded model inside the installed package, described as in the checkout",
      () => {
        const a = JSON.parse(installedCli(["info", "--json"])) as Record<string, unknown>;
        const b = JSON.parse(checkoutCli(["info", "--json"])) as Record<string, unknown>;
        equal("model folder", a.model, join(installed, "models", "tiny-codemonet"));
        equal("info without the folder", { ...a, model: "" }, { ...b, model: "" });
        if (a.valid !== true) throw new Error("the installed model is not valid");
      },
    );
    for (const mask of [[], ["--mask", "python"]]) {
      check(
        `generate${mask.length ? " --mask python (the shipped atlas)" : ""}: the checkout's greedy text`,
        () => {
          const args = ["generate", "--prompt", PROMPT, "--max-tokens", "16", "--json", ...mask];
          const a = JSON.parse(installedCli(args)) as { text: string; ids: number[]; masked: string };
          const b = JSON.parse(checkoutCli(args)) as { text: string; ids: number[]; masked: string };
          log(`  ${JSON.stringify(a.text)}${a.masked ? ` (masked: ${a.masked})` : ""}`);
          equal("ids", a.ids, b.ids);
          equal("text", a.text, b.text);
          equal("masked", a.masked, b.masked);
          if (a.ids.length === 0) throw new Error("no tokens generated");
        },
      );
    }
    const version = JSON.parse(readFileSync(join(installed, "package.json"), "utf8")).version;
    log(`monet-lens ${version} from ${installed}`);
  } catch (e) {
    results.push({ name: "setup", ok: false, error: (e as Error).message });
    log(`FAILED: ${(e as Error).message}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const passed = results.filter((r) => r.ok).length;
  process.stdout.write(`npm-install: ${passed} passed, ${results.length - passed} failed\n`);
  return results.length - passed ? 1 : 0;
}

process.exit(main());
