// Prepares, on a machine without a GPU, everything the GPU check needs on a bare GPU machine,
// and prints the exact sequence of device calls (BENCHMARKS.md, "Staging").
//
//   npm run gpu:stage [-- build] [--no-cuda]   download, pack, split, plan (downloads cached)
//   npm run gpu:stage -- plan                   print the plan of the last build again
//   npm run gpu:stage -- simulate [--run]       play the plan's calls into a scratch folder (--run:
//                                               also activate the kit and run the check there)
//   npm run gpu:stage -- slim | unslim          untrack models/ for the calls / track it again
// (npm run gpu:stage = tsx scripts/gpu-stage.ts)
//
// Why: a device call carries the working tree (tracked files, untracked files not ignored, and
// up to 8 ignored `carry` paths), 64 MiB in all. The check needs about four times that: the
// device kit (Node, onnxruntime-node 1.30, Vulkan loaders: ../shared/tools/device-kit.sh), the
// demo model (79 MB, tracked in models/, untracked for the calls by `slim`), the fixtures
// (../shared does not travel), and for CUDA onnxruntime-node 1.29.0 with the CUDA 13 providers
// built for it (npm's only CUDA providers; a test-time aid, never shipped). So the payload is
// packed into components, split into parts that fill each call up to the limit, and each call
// copies its parts into /tmp/monet-gpu on the machine, where the last call assembles and checks
// them (scripts/gpu-check.sh --device). The calls must follow one another inside the machine's
// warm window (30 s): a machine given back loses /tmp.
import { createHash } from "node:crypto";
import { execFileSync, spawnSync, type ExecFileSyncOptions } from "node:child_process";
import {
  closeSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";

export const LIMIT_BYTES = 64 * 1024 * 1024;
/** Kept free in every call: files that appear in the tree between staging and the calls. */
export const RESERVE_BYTES = 1024 * 1024;
export const STAGE_DIR = ".gpucheck";
/** What the last call runs besides its parts (the CLI writes the 1.4B checkpoint there). */
export const DIST_FILES = ["dist/gpu-check.js", "dist/cli.js"];
const CUDA_PACKAGE = "com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9";
const ORT_FOR_CUDA = "1.29.0";
/** Seconds: the check's own budget on the machine (scripts/gpu-check.sh passes it on). */
export const CHECK_BUDGET_S = 450;

export interface Component {
  name: string;
  /** The packed file (tar.xz). */
  file: string;
  /** Where it is unpacked on the machine: tmp:<dir under /tmp/monet-gpu> or repo:<dir in the repo>. */
  target: string;
}

export interface Part {
  component: string;
  index: number;
  offset: number;
  bytes: number;
}

export interface PlannedCall {
  call: number;
  carry: string[];
  parts: Part[];
  partBytes: number;
  totalBytes: number;
  last: boolean;
}

export interface StagedCall extends PlannedCall {
  command: string;
  timeout_s: number;
}

export interface Fixed {
  /** The tree that travels in every call (models/ untracked). */
  tree: number;
  /** .devicekit, carried by call 1. */
  kit: number;
  /** The bundles, carried by the last call. */
  dist: number;
}

export interface Stage {
  format: "monet-lens-gpu-stage/1";
  commit: string;
  dirty: boolean;
  date: string;
  limit: number;
  reserve: number;
  fixed: Fixed;
  cuda: Record<string, string> | null;
  components: Array<Omit<Component, "file"> & { file: string; bytes: number; sha256: string; parts: number }>;
  calls: StagedCall[];
}

const sh = (cmd: string, args: string[], opts: ExecFileSyncOptions = {}) =>
  execFileSync(cmd, args, { encoding: "utf8", ...opts }) as string;

export function sha256File(path: string): string {
  const h = createHash("sha256");
  const fd = openSync(path, "r");
  const buf = Buffer.alloc(1 << 22);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

function bytesOf(path: string): number {
  const st = lstatSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, f) => n + bytesOf(join(path, f)), 0);
}

/** Files that travel with every call once models/ is untracked: tracked + untracked, not ignored. */
export function travellingFiles(root: string): string[] {
  const out = sh("git", ["-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"]);
  return [...new Set(out.split("\0").filter(Boolean))].filter(
    (f) => f !== "models" && !f.startsWith("models/") && exists(join(root, f)),
  );
}

export function treeBytes(root: string): number {
  return travellingFiles(root).reduce((n, f) => n + lstatSync(join(root, f)).size, 0);
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Splits the components into parts and assigns them to calls so that no call carries more than
 * the limit: call 1 also carries the device kit, the last also the two bundles.
 */
export function planCalls(
  components: Array<{ name: string; bytes: number }>,
  fixed: Fixed,
  limit = LIMIT_BYTES,
  reserve = RESERVE_BYTES,
): PlannedCall[] {
  const calls: Array<{ parts: Part[]; bytes: number }> = [];
  const room = (k: number) => limit - reserve - fixed.tree - (k === 0 ? fixed.kit : 0);
  let call = { parts: [] as Part[], bytes: 0 };
  calls.push(call);
  for (const c of components) {
    let offset = 0;
    let index = 0;
    while (offset < c.bytes) {
      let free = room(calls.length - 1) - call.bytes;
      if (free <= 0) {
        call = { parts: [], bytes: 0 };
        calls.push(call);
        free = room(calls.length - 1);
        if (free <= 0) throw new Error(`nothing fits in a call: tree ${fixed.tree} B, limit ${limit} B`);
      }
      const take = Math.min(free, c.bytes - offset);
      call.parts.push({ component: c.name, index, offset, bytes: take });
      call.bytes += take;
      offset += take;
      index++;
    }
  }
  // The bundles go with the last call, which runs the check; a call of their own if they do not fit.
  if (room(calls.length - 1) - call.bytes < fixed.dist) calls.push({ parts: [], bytes: 0 });
  if (room(calls.length - 1) < fixed.dist) throw new Error("the bundles do not fit in a call");
  return calls.map((c, k) => {
    const last = k === calls.length - 1;
    const carry = [
      ...(k === 0 ? [".devicekit"] : []),
      ...(last ? DIST_FILES : []),
      `${STAGE_DIR}/call${k + 1}`,
    ];
    const totalBytes = fixed.tree + c.bytes + (k === 0 ? fixed.kit : 0) + (last ? fixed.dist : 0);
    return { call: k + 1, carry, parts: c.parts, partBytes: c.bytes, totalBytes, last };
  });
}

/** The stage record: components with their checksums, and each call with its command. */
export function makeStage(
  components: Array<Component & { bytes: number; sha256: string }>,
  fixed: Fixed,
  meta: { commit: string; dirty: boolean; cuda: Stage["cuda"] },
  limit = LIMIT_BYTES,
  reserve = RESERVE_BYTES,
): Stage {
  const calls = planCalls(components, fixed, limit, reserve);
  return {
    format: "monet-lens-gpu-stage/1",
    ...meta,
    date: new Date().toISOString(),
    limit,
    reserve,
    fixed,
    components: components.map((c) => ({
      name: c.name,
      file: basename(c.file),
      target: c.target,
      bytes: c.bytes,
      sha256: c.sha256,
      parts: calls.reduce((n, k) => n + k.parts.filter((p) => p.component === c.name).length, 0),
    })),
    calls: calls.map((c) => ({
      ...c,
      command: c.last ? "bash scripts/gpu-check.sh --device" : "bash scripts/gpu-check.sh --receive",
      // The check's budget plus assembly, activation and the copy back (about a minute at most).
      timeout_s: c.last ? CHECK_BUDGET_S + 130 : 120,
    })),
  };
}

/** Writes each call's folder (its parts, parts.callN.tsv, components.tsv, stage.json) and stage.json. */
export function writeStage(root: string, stage: Stage, components: Component[]): void {
  const base = join(root, STAGE_DIR);
  mkdirSync(base, { recursive: true });
  for (const d of readdirSync(base).filter((d) => /^call\d+$/.test(d)))
    rmSync(join(base, d), { recursive: true });
  const componentsTsv = stage.components
    .map((c) => [c.name, c.file, c.bytes, c.sha256, c.parts, c.target].join("\t"))
    .join("\n");
  for (const call of stage.calls) {
    const dir = join(base, `call${call.call}`);
    mkdirSync(dir, { recursive: true });
    const rows: string[] = [];
    for (const p of call.parts) {
      const c = components.find((x) => x.name === p.component)!;
      const name = `${p.component}.part${String(p.index).padStart(3, "0")}`;
      copyRange(c.file, join(dir, name), p.offset, p.bytes);
      rows.push([p.component, p.index, name, p.bytes, sha256File(join(dir, name))].join("\t"));
    }
    writeFileSync(join(dir, `parts.call${call.call}.tsv`), rows.length ? `${rows.join("\n")}\n` : "");
    writeFileSync(join(dir, "components.tsv"), `${componentsTsv}\n`);
    writeFileSync(join(dir, "stage.json"), `${JSON.stringify(stage, null, 2)}\n`);
  }
  writeFileSync(join(base, "stage.json"), `${JSON.stringify(stage, null, 2)}\n`);
  writeFileSync(join(base, "plan.txt"), `${formatPlan(stage)}\n`);
}

function copyRange(src: string, dst: string, offset: number, bytes: number): void {
  const fi = openSync(src, "r");
  const fo = openSync(dst, "w");
  const buf = Buffer.alloc(1 << 22);
  try {
    for (let done = 0; done < bytes; ) {
      const n = readSync(fi, buf, 0, Math.min(buf.length, bytes - done), offset + done);
      if (n <= 0) throw new Error(`${src}: short read at ${offset + done}`);
      writeSync(fo, buf, 0, n);
      done += n;
    }
  } finally {
    closeSync(fi);
    closeSync(fo);
  }
}

/** Bytes a call carries, measured on disk: the travelling tree plus its carried paths. */
export function measuredCallBytes(root: string, call: { carry: string[] }): number {
  return (
    treeBytes(root) +
    call.carry.reduce((n, p) => n + (existsSync(join(root, p)) ? bytesOf(join(root, p)) : 0), 0)
  );
}

const MIB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** The plan as people and sessions read it: one `run` call per line, with its carry and command. */
export function formatPlan(stage: Stage): string {
  const lines: string[] = [];
  lines.push(
    `GPU check: ${stage.calls.length} device calls (commit ${stage.commit.slice(0, 12)}${stage.dirty ? ", dirty" : ""}, staged ${stage.date})`,
  );
  lines.push(
    `each call carries the tree (${MIB(stage.fixed.tree)}, models/ untracked) plus its carry paths:`,
  );
  for (const c of stage.calls)
    lines.push(
      `  call ${c.call}: ${MIB(c.totalBytes)} of ${MIB(stage.limit)} (${c.parts.length} parts, ${MIB(c.partBytes)}): carry ${JSON.stringify(c.carry)}`,
    );
  lines.push("", "components:");
  for (const c of stage.components)
    lines.push(`  ${c.name}: ${MIB(c.bytes)} in ${c.parts} parts -> ${c.target}`);
  lines.push("", "the sequence (one call right after another, within 30 s of the last, nothing in between):");
  lines.push("  0. here: npm run gpu:stage -- slim   (untracks models/ for the calls)");
  for (const c of stage.calls)
    lines.push(
      `  ${c.call}. run ${JSON.stringify({ carry: c.carry, command: c.command, timeout_s: c.timeout_s })}`,
    );
  lines.push(
    `  ${stage.calls.length + 1}. give_back; then here: npm run gpu:stage -- unslim, and copy the JSON from files_at into bench/results/`,
  );
  return lines.join("\n");
}

/** Untrack models/ (and ignore it locally) for the calls; `unslim` tracks it again. Worktree-safe. */
function slim(root: string, on: boolean): void {
  const exclude = resolve(root, sh("git", ["-C", root, "rev-parse", "--git-path", "info/exclude"]).trim());
  mkdirSync(dirname(exclude), { recursive: true });
  const rest = (existsSync(exclude) ? readFileSync(exclude, "utf8").split("\n") : []).filter(
    (l) => l && l !== "/models/",
  );
  if (on) {
    sh("git", ["-C", root, "rm", "-r", "-q", "--cached", "models"]);
    writeFileSync(exclude, `${[...rest, "/models/"].join("\n")}\n`);
    console.log(
      "models/ untracked for the device calls: run `npm run gpu:stage -- unslim` before committing",
    );
  } else {
    writeFileSync(exclude, rest.length ? `${rest.join("\n")}\n` : "");
    sh("git", ["-C", root, "add", "models"]);
    console.log("models/ tracked again");
  }
}

/** ../shared/tools/device-kit.sh, also from a git worktree (whose .git is a file that script cannot use). */
function deviceKit(root: string): void {
  const kit = join(root, ".devicekit");
  if (existsSync(join(kit, "activate.sh"))) return;
  const script = resolve(root, "..", "shared", "tools", "device-kit.sh");
  if (!existsSync(script)) throw new Error(`${script} not found: the device kit cannot be built`);
  if (statSync(join(root, ".git")).isDirectory()) {
    sh("bash", [script], { cwd: root, stdio: "inherit" });
    return;
  }
  const t = mkdtempSync(join(tmpdir(), "monet-devicekit-"));
  try {
    sh("git", ["init", "-q", t]);
    symlinkSync(join(root, "node_modules"), join(t, "node_modules"));
    sh("bash", [script], { cwd: t, stdio: "inherit" });
    renameSync(join(t, ".devicekit"), kit);
  } finally {
    rmSync(t, { recursive: true, force: true });
  }
}

/** `npm pack name@version` into `dir`, once (unscoped names). */
function npmPack(spec: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const at = spec.lastIndexOf("@");
  const file = join(dir, `${spec.slice(0, at)}-${spec.slice(at + 1)}.tgz`);
  if (!existsSync(file)) sh("npm", ["pack", "-s", spec], { cwd: dir });
  if (!existsSync(file)) throw new Error(`npm pack ${spec} did not write ${file}`);
  return file;
}

function xzTar(out: string, cwd: string, paths: string[]): void {
  const tmp = `${out}.tmp`;
  const r = spawnSync(
    "bash",
    ["-c", 'd=$1 o=$2; shift 2; tar -C "$d" -cf - "$@" | xz -T0 -6 > "$o"', "xztar", cwd, tmp, ...paths],
    {
      stdio: "inherit",
    },
  );
  if (r.status !== 0) throw new Error(`packing ${out} failed`);
  renameSync(tmp, out);
}

/** onnxruntime-node 1.29.0 (+ common) with the CUDA 13 providers beside its library, as node_modules/. */
function cudaRuntime(out: string, downloads: string): void {
  const t = mkdtempSync(join(tmpdir(), "monet-cuda-runtime-"));
  try {
    const unpack = (spec: string) => {
      const dir = join(t, "x", spec.slice(0, spec.lastIndexOf("@")));
      mkdirSync(dir, { recursive: true });
      sh("tar", ["-C", dir, "-xzf", npmPack(spec, downloads)]);
      return join(dir, "package");
    };
    const ortSrc = unpack(`onnxruntime-node@${ORT_FOR_CUDA}`);
    const commonSrc = unpack(`onnxruntime-common@${ORT_FOR_CUDA}`);
    const providers = join(unpack(CUDA_PACKAGE), "Plugins", "Linux", "x64");
    const nm = join(t, "node_modules");
    const ortDir = join(nm, "onnxruntime-node");
    const bin = join("bin", "napi-v6", "linux", "x64");
    mkdirSync(join(ortDir, bin), { recursive: true });
    cpSync(join(ortSrc, "package.json"), join(ortDir, "package.json"));
    cpSync(join(ortSrc, "dist"), join(ortDir, "dist"), { recursive: true });
    cpSync(join(ortSrc, bin), join(ortDir, bin), { recursive: true });
    for (const f of ["libonnxruntime_providers_cuda.so", "libonnxruntime_providers_shared.so"])
      cpSync(join(providers, f), join(ortDir, bin, f));
    cpSync(commonSrc, join(nm, "onnxruntime-common"), { recursive: true });
    writeFileSync(
      join(nm, "ORIGIN.txt"),
      `onnxruntime-node@${ORT_FOR_CUDA} and onnxruntime-common@${ORT_FOR_CUDA} from npm, with ` +
        `libonnxruntime_providers_{cuda,shared}.so (onnxruntime ${ORT_FOR_CUDA}, CUDA 13) from ${CUDA_PACKAGE} ` +
        "(MIT, Microsoft's binaries): a test-time aid for the GPU check, never shipped.\n",
    );
    xzTar(out, t, ["node_modules"]);
  } finally {
    rmSync(t, { recursive: true, force: true });
  }
}

/** Builds (or reuses) the payload components in .gpucheck/payload, in the order they travel. */
function buildComponents(root: string, withCuda: boolean): Component[] {
  const payload = join(root, STAGE_DIR, "payload");
  mkdirSync(payload, { recursive: true });
  const out: Component[] = [];
  const fixtures = join(payload, "fixtures.tar.xz");
  if (!existsSync(fixtures))
    xzTar(fixtures, resolve(root, "..", "shared", "fixtures"), ["random-vd", "random-hd", "tiny-codemonet"]);
  out.push({ name: "fixtures", file: fixtures, target: "tmp:fixtures" });
  const demo = join(payload, "demo-model.tar.xz");
  if (!existsSync(demo)) xzTar(demo, join(root, "models"), ["tiny-codemonet"]);
  out.push({ name: "demo-model", file: demo, target: "repo:models" });
  if (withCuda) {
    const cuda = join(payload, "cuda-runtime.tar.xz");
    if (!existsSync(cuda)) cudaRuntime(cuda, join(root, STAGE_DIR, "downloads"));
    out.push({ name: "cuda-runtime", file: cuda, target: "tmp:cuda-runtime" });
  }
  return out;
}

function build(root: string, args: string[]): void {
  const withCuda = !args.includes("--no-cuda");
  if (!DIST_FILES.every((f) => existsSync(join(root, f))))
    sh("node", ["scripts/build.mjs"], { cwd: root, stdio: "inherit" });
  deviceKit(root);
  const stray = join(root, ".devicekit", "cuda");
  if (existsSync(stray)) {
    // `device-kit.sh cuda` puts 1.29 providers into the kit, where activate.sh would pair them with
    // onnxruntime-node 1.30 (they need 1.29) and the kit would outgrow call 1: the stage brings its own.
    const keep = join(root, STAGE_DIR, "downloads", "devicekit-cuda");
    mkdirSync(dirname(keep), { recursive: true });
    rmSync(keep, { recursive: true, force: true });
    renameSync(stray, keep);
    console.log(
      `moved .devicekit/cuda to ${relative(root, keep)} (the stage carries the CUDA runtime itself)`,
    );
  }
  const components = buildComponents(root, withCuda).map((c) => ({
    ...c,
    bytes: statSync(c.file).size,
    sha256: sha256File(c.file),
  }));
  const fixed: Fixed = {
    tree: treeBytes(root),
    kit: bytesOf(join(root, ".devicekit")),
    dist: DIST_FILES.reduce((n, f) => n + statSync(join(root, f)).size, 0),
  };
  const dirty = sh("git", ["-C", root, "status", "--porcelain", "--untracked-files=no"])
    .split("\n")
    .some((l) => l.trim() && !/ models\//.test(l));
  const stage = makeStage(components, fixed, {
    commit: sh("git", ["-C", root, "rev-parse", "HEAD"]).trim(),
    dirty,
    cuda: withCuda
      ? {
          onnxruntime_node: ORT_FOR_CUDA,
          providers: CUDA_PACKAGE,
          libraries: "cuBLAS/cudart/curand 13 from the GPU machine's Python packages (activate.sh)",
        }
      : null,
  });
  writeStage(root, stage, components);
  const measured = stage.calls.map((c) => measuredCallBytes(root, c));
  console.log(formatPlan(stage));
  console.log(`\nmeasured on disk per call: ${measured.map(MIB).join(", ")} (limit ${MIB(LIMIT_BYTES)})`);
  const over = measured.findIndex((b) => b > LIMIT_BYTES);
  if (over >= 0)
    throw new Error(`call ${over + 1} would carry ${measured[over]} B, over the ${LIMIT_BYTES} B limit`);
}

/**
 * Plays the calls into `device` (a stand-in for the machine's copy of the repo, kept between
 * calls as on a warm machine) with MONET_GPU_TMP=`tmp`, running each call's command with
 * MONET_GPU_SIMULATE=1 (no activation, no check); returns the bytes each call moved.
 */
export function simulate(
  root: string,
  device: string,
  tmp: string,
  log: (s: string) => void = (s) => process.stdout.write(s),
  /** Also activate the kit and run the check in the last call (MONET_GPU_SIMULATE=run), OUT=`out`. */
  run?: { out: string },
): number[] {
  const stage = JSON.parse(readFileSync(join(root, STAGE_DIR, "stage.json"), "utf8")) as Stage;
  const moved: number[] = [];
  for (const call of stage.calls) {
    let bytes = 0;
    for (const f of travellingFiles(root)) {
      mkdirSync(dirname(join(device, f)), { recursive: true });
      rmSync(join(device, f), { force: true });
      cpSync(join(root, f), join(device, f), { dereference: false });
      bytes += lstatSync(join(root, f)).size;
    }
    for (const p of call.carry) {
      rmSync(join(device, p), { recursive: true, force: true });
      if (!existsSync(join(root, p))) continue;
      mkdirSync(dirname(join(device, p)), { recursive: true });
      cpSync(join(root, p), join(device, p), { recursive: true });
      bytes += bytesOf(join(root, p));
    }
    const [cmd, ...args] = call.command.split(" ");
    const r = spawnSync(cmd!, args, {
      cwd: device,
      encoding: "utf8",
      env: {
        ...process.env,
        MONET_GPU_TMP: tmp,
        MONET_GPU_SIMULATE: run && call.last ? "run" : "1",
        ...(run ? { OUT: run.out } : {}),
      },
    });
    log(`--- call ${call.call}: ${call.command} (${MIB(bytes)})\n${r.stdout}${r.stderr}`);
    // The check itself exits 2 here: no GPU provider can run on this machine.
    const ok = r.status === 0 || (run !== undefined && call.last && r.status === 2);
    if (!ok) throw new Error(`call ${call.call} (${call.command}) exited with ${r.status}`);
    moved.push(bytes);
  }
  return moved;
}

function main(argv: string[]): void {
  const [command = "build", ...rest] = argv;
  const root = sh("git", ["rev-parse", "--show-toplevel"]).trim();
  const stageFile = join(root, STAGE_DIR, "stage.json");
  if (command === "build") build(root, rest);
  else if (command === "plan") console.log(formatPlan(JSON.parse(readFileSync(stageFile, "utf8")) as Stage));
  else if (command === "slim") slim(root, true);
  else if (command === "unslim") slim(root, false);
  else if (command === "simulate") simulateHere(root, stageFile, rest.includes("--run"));
  else {
    console.error("usage: npm run gpu:stage -- [build [--no-cuda] | plan | simulate | slim | unslim]");
    process.exit(64);
  }
}

/** `simulate`: the plan's calls into a scratch folder, then the assembled components against the staged ones. */
function simulateHere(root: string, stageFile: string, run: boolean): void {
  const where = mkdtempSync(join(tmpdir(), "monet-gpu-sim-"));
  // activate.sh unpacks Node into this fixed folder; a simulation leaves nothing behind.
  const kitNode = "/tmp/devicekit";
  const hadKitNode = existsSync(kitNode);
  const out = join(where, "out");
  mkdirSync(out);
  try {
    const moved = simulate(
      root,
      join(where, "device"),
      join(where, "tmp"),
      undefined,
      run ? { out } : undefined,
    );
    console.log(
      `simulated ${moved.length} calls: ${moved.map(MIB).join(", ")} moved (limit ${MIB(LIMIT_BYTES)})`,
    );
    if (moved.some((b) => b > LIMIT_BYTES)) throw new Error("a call moved more than the limit");
    // What the last call assembled must be what was staged.
    const stage = JSON.parse(readFileSync(stageFile, "utf8")) as Stage;
    for (const c of stage.components) {
      const joined = join(where, "tmp", "payload", c.file);
      const ok = existsSync(joined) && sha256File(joined) === c.sha256;
      console.log(`${c.name}: ${ok ? "assembled, sha256 matches" : "NOT assembled"}`);
      if (!ok) process.exitCode = 1;
    }
    if (run) {
      const back = readdirSync(out);
      console.log(`came back in $OUT: ${back.join(", ")}`);
      if (!back.some((f) => f.endsWith(".json")) || !back.includes("gpu-check.log")) process.exitCode = 1;
    }
  } finally {
    rmSync(where, { recursive: true, force: true });
    if (run && !hadKitNode) rmSync(kitNode, { recursive: true, force: true });
  }
}

if (require.main === module) main(process.argv.slice(2));
