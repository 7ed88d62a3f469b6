// What the end-to-end suite needs on the machine, installed from Debian's packages and the
// npm registry only: Chromium (Playwright drives Debian's build), ripgrep (seeds the
// ripgrep download of code-server's install) and the Kerberos headers (its native
// modules build from source), then code-server itself into a cache folder outside the
// repository's files, reused while present (../shared/docs/vscode-e2e.md).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, copyFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** code-server 4.100.3 is VS Code 1.100.3, the last release that runs on Node 20. */
export const CODE_SERVER_VERSION = "4.100.3";
const RIPGREP_CACHE = "vscode-ripgrep-cache-1.15.11";
const RIPGREP_ARCHIVE = "ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz";

/** $MONET_LENS_E2E_CACHE, else ~/.cache/monet-lens-e2e: kept between runs and between clones. */
export function cacheRoot(): string {
  return (
    process.env.MONET_LENS_E2E_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "monet-lens-e2e")
  );
}

function log(line: string): void {
  process.stdout.write(`e2e: ${line}\n`);
}

/** Installs the Debian packages whose files are missing (as root; otherwise says what to install). */
export function ensureDebianPackages(needCodeServerBuild: boolean): void {
  const wanted: Array<[file: string, pkg: string]> = [["/usr/bin/chromium", "chromium"]];
  if (needCodeServerBuild) wanted.push(["/usr/bin/rg", "ripgrep"], ["/usr/bin/krb5-config", "libkrb5-dev"]);
  ensureDebianFiles(wanted);
}

/** Installs (as root, with apt-get) the Debian package of each file that is missing. */
export function ensureDebianFiles(wanted: Array<[file: string, pkg: string]>): void {
  const missing = wanted.filter(([f]) => !existsSync(f)).map(([, p]) => p);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0)
    throw new Error(
      `the tests need the Debian packages ${missing.join(", ")}: ` + `apt-get install ${missing.join(" ")}`,
    );
  log(`installing ${missing.join(", ")} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env });
  execFileSync("apt-get", ["install", "-y", "-qq", ...missing], {
    stdio: ["ignore", "ignore", "inherit"],
    env,
  });
}

export interface CodeServer {
  /** node_modules/code-server/out/node/entry.js, run with this Node. */
  entry: string;
  /** Seconds the install took; 0 when the cached one was reused. */
  installSeconds: number;
}

export function codeServerDir(): string {
  return join(cacheRoot(), `code-server-${CODE_SERVER_VERSION}`);
}

function entryOf(dir: string): string {
  return join(dir, "node_modules", "code-server", "out", "node", "entry.js");
}

/** The cached code-server, or a fresh install of it (about 90 s, 300 MB). */
export function ensureCodeServer(): CodeServer {
  const dir = codeServerDir();
  const complete = join(dir, ".complete");
  if (existsSync(complete) && existsSync(entryOf(dir))) return { entry: entryOf(dir), installSeconds: 0 };
  ensureDebianPackages(true);
  const root = cacheRoot();
  mkdirSync(root, { recursive: true });
  const t0 = Date.now();
  const staging = mkdtempSync(join(root, `.code-server-${CODE_SERVER_VERSION}-`));
  const tmp = join(staging, "tmp");
  try {
    // @vscode/ripgrep's postinstall downloads rg from GitHub (unreachable): seed its cache
    // with Debian's rg, found through TMPDIR.
    const seed = join(staging, "seed");
    mkdirSync(join(tmp, RIPGREP_CACHE), { recursive: true });
    mkdirSync(seed);
    copyFileSync("/usr/bin/rg", join(seed, "rg"));
    execFileSync("tar", ["czf", join(tmp, RIPGREP_CACHE, RIPGREP_ARCHIVE), "-C", seed, "rg"]);
    log(`installing code-server ${CODE_SERVER_VERSION} from npm into ${dir}`);
    const prefix = join(staging, "install");
    const r = spawnSync(
      "npm",
      [
        "install",
        "--prefix",
        prefix,
        "--no-audit",
        "--no-fund",
        "--no-save",
        `code-server@${CODE_SERVER_VERSION}`,
      ],
      {
        stdio: ["ignore", "inherit", "inherit"],
        env: {
          ...process.env,
          TMPDIR: tmp,
          // code-server's postinstall installs its VS Code's native modules (node-pty runs
          // `npx node-gyp`); npm 11 blocks dependencies' install scripts unless allowed, and
          // the postinstall refuses root without unsafe_perm.
          npm_config_dangerously_allow_all_scripts: "true",
          npm_config_yes: "true",
          npm_config_unsafe_perm: "true",
        },
      },
    );
    if (r.status !== 0)
      throw new Error(`npm install code-server@${CODE_SERVER_VERSION} failed (exit ${r.status ?? r.signal})`);
    if (
      !existsSync(join(prefix, "node_modules", "code-server", "lib", "vscode", "node_modules", "node-pty"))
    ) {
      throw new Error("code-server installed without its VS Code modules: its postinstall did not run");
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(prefix, dir);
    writeFileSync(complete, `${new Date().toISOString()}\n`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const installSeconds = (Date.now() - t0) / 1000;
  log(`code-server installed in ${installSeconds.toFixed(0)} s`);
  return { entry: entryOf(dir), installSeconds };
}
