// Packs the platform-specific .vsix packages from native/platforms.json: builds once, then
// for each target writes its ignore list (.cache/vscodeignore/<target>.vscodeignore: the
// common .vscodeignore plus that target's onnxruntime-node files), runs `vsce package
// --target <target>` with it, and checks the package it made (scripts/vsix-check.ts).
//
//   tsx scripts/package.ts --all                          (npm run package:all → vsix/*.vsix)
//   tsx scripts/package.ts linux-x64 --out monet-lens.vsix (npm run package)
//   tsx scripts/package.ts --prepublish-check              (vscode:prepublish: refuses a plain `vsce package`)
import { spawnSync } from "node:child_process";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { ignoreListFor, readPlatforms, ROOT } from "./platforms";
import { checkVsix } from "./vsix-check";

/** Set for vsce's vscode:prepublish step, which fails without it. */
const TARGET_ENV = "MONET_LENS_VSIX_TARGET";

function fail(message: string): never {
  process.stderr.write(`package: ${message}\n`);
  process.exit(1);
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: "inherit", env });
  if (r.status !== 0)
    fail(
      `${relative(ROOT, args[0] ?? cmd)} ${args.slice(1).join(" ")} failed (exit ${r.status ?? r.signal})`,
    );
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

async function main(argv: string[]): Promise<void> {
  if (argv.includes("--prepublish-check")) {
    if (!process.env[TARGET_ENV])
      fail(
        "pack with `npm run package` (linux-x64) or `npm run package:all`: a plain `vsce package` would carry none of onnxruntime-node's native files (native/platforms.json)",
      );
    return;
  }
  const m = readPlatforms();
  const { values, positionals } = parseArgs({
    args: argv,
    options: { all: { type: "boolean" }, out: { type: "string" } },
    allowPositionals: true,
  });
  const out = values.out;
  const targets = values.all ? Object.keys(m.targets) : positionals;
  if (targets.length === 0) fail("name a target or --all");
  if (out && targets.length > 1) fail("--out names one package: give one target");
  for (const t of targets)
    if (!m.targets[t])
      fail(
        `no package for ${t}${m.notShipped[t] ? `: ${m.notShipped[t]}` : ""} (targets: ${Object.keys(m.targets).join(", ")})`,
      );

  const t0 = Date.now();
  run(process.execPath, [join(ROOT, "scripts", "build.mjs")]);
  const ignoreDir = join(ROOT, ".cache", "vscodeignore");
  mkdirSync(ignoreDir, { recursive: true });
  mkdirSync(join(ROOT, "vsix"), { recursive: true });
  const version = (require(join(ROOT, "package.json")) as { version: string }).version;
  const made: Array<{ target: string; file: string; bytes: number; seconds: number }> = [];
  for (const target of targets) {
    const t1 = Date.now();
    const ignoreFile = join(ignoreDir, `${target}.vscodeignore`);
    writeFileSync(ignoreFile, ignoreListFor(m, target));
    const file = out ? join(ROOT, out) : join(ROOT, "vsix", `monet-lens-${target}-${version}.vsix`);
    run(
      process.execPath,
      [
        require.resolve("@vscode/vsce/vsce"),
        "package",
        "--target",
        target,
        "--ignoreFile",
        ignoreFile,
        "--out",
        file,
        // No public repository yet: nothing to link to (README, Install notes).
        "--allow-missing-repository",
        "--no-rewrite-relative-links",
      ],
      { ...process.env, [TARGET_ENV]: target },
    );
    const problems = await checkVsix(file, target, m);
    if (problems.length) fail(`${relative(ROOT, file)} is wrong:\n  ${problems.join("\n  ")}`);
    made.push({ target, file, bytes: statSync(file).size, seconds: (Date.now() - t1) / 1000 });
  }
  for (const p of made)
    process.stdout.write(
      `package: ${relative(ROOT, p.file)}  ${p.target}  ${mib(p.bytes)} MiB  packed and checked in ${p.seconds.toFixed(1)} s\n`,
    );
  const total = made.reduce((s, p) => s + p.bytes, 0);
  process.stdout.write(
    `package: ${made.length} package(s), ${mib(total)} MiB, in ${((Date.now() - t0) / 1000).toFixed(1)} s (build included)\n`,
  );
}

void main(process.argv.slice(2));
