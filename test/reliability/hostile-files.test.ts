// Hostile files and values (issue #18, part A): FIFOs, devices and folders where files
// should be, directly and through symbolic links; sizes from files and flags far out of
// range; files that are well-formed but wrong (NaN weights, an atlas edited to another shape,
// special tokens that disagree with the tokenizer); a lock file held by an unrelated process,
// a cache path that is a file, a symlinked corpus root, atlas --out onto a device or through a
// link, and out-of-memory. Each gets a clear message naming the file and the fix, and nothing
// hangs: the probes that could hang run in a child process (probe-child.ts) that is killed
// after a time limit, naming the probe that hung.
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { readAtlasFile, writeAtlasFile } from "../../src/atlas/atlas-file";
import { writeFileAtomic } from "../../src/files/atomic-write";
import { scanCorpus } from "../../src/atlas/corpus";
import { Checkpoint } from "../../src/checkpoint/checkpoint";
import { SafetensorsFile } from "../../src/checkpoint/safetensors";
import { writeSyntheticCheckpoint, type HfMonetConfigJson } from "../../src/checkpoint/synth";
import { Engine } from "../../src/engine/engine";
import { ensureConverted } from "../../src/engine/model-store";
import { MonetRunner } from "../../src/engine/runner";
import { KvCache } from "../../src/engine/kv-cache";
import type * as ort from "../../src/engine/ort";
import { CONVERTER_VERSION } from "../../src/model/convert";
import { DEMO_MODEL, FIXTURES, TEST_CACHE } from "../helpers/fixtures";
import { alive } from "../helpers/processes";
import { scratchDirs } from "./helpers";
import type { Probe, ProbeResult } from "./probe-child";

const { fresh } = scratchDirs("reliability-hostile-");
const SHIPPED_ATLAS = join(process.cwd(), "models", "atlases", "tiny-codemonet.atlas.json");
const SHARD = "model-00003-of-00006.safetensors";

const canFifo = process.platform !== "win32" && spawnSync("mkfifo", ["--version"]).status === 0;
function mkfifo(path: string): string {
  const r = spawnSync("mkfifo", [path]);
  assert.equal(r.status, 0, `mkfifo ${path}: ${r.stderr}`);
  return path;
}

/** A copy of the demo model (shards hard-linked, never written) with `change` applied. */
function demoCopy(label: string, change: (dir: string) => void = () => undefined): string {
  const d = fresh(label);
  for (const f of readdirSync(DEMO_MODEL)) {
    if (f.endsWith(".safetensors")) linkSync(join(DEMO_MODEL, f), join(d, f));
    else copyFileSync(join(DEMO_MODEL, f), join(d, f));
  }
  change(d);
  return d;
}
const replaceWith = (dir: string, file: string, make: (path: string) => void) => {
  const p = join(dir, file);
  spawnSync("rm", ["-f", p]);
  make(p);
};
const editConfig = (dir: string, edit: Record<string, unknown>) => {
  const p = join(dir, "config.json");
  writeFileSync(p, JSON.stringify({ ...JSON.parse(readFileSync(p, "utf8")), ...edit }));
};

const PROBE_CHILD = join(process.cwd(), "test", "reliability", "probe-child.ts");
/** The whole batch of probes may take this long (it includes converting the demo model once). */
const PROBES_TIMEOUT_MS = 180_000;

/** Runs the probes in one child process; fails naming the probe that did not finish in time. */
function runProbes(probes: Probe[]): Map<string, ProbeResult> {
  const r = spawnSync(process.execPath, ["--import", "tsx", PROBE_CHILD, JSON.stringify(probes)], {
    encoding: "utf8",
    timeout: PROBES_TIMEOUT_MS,
    killSignal: "SIGKILL",
    maxBuffer: 64 << 20,
    env: { ...process.env, MONET_LENS_CACHE: TEST_CACHE },
  });
  const results = new Map<string, ProbeResult>();
  let last: string | undefined;
  for (const line of r.stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    const o = JSON.parse(line) as ProbeResult & { started?: string };
    if (o.started) last = o.started;
    else results.set(o.id, o);
  }
  const hung = last !== undefined && !results.has(last) ? last : undefined;
  assert.equal(
    hung,
    undefined,
    `probe "${hung}" did not finish within ${PROBES_TIMEOUT_MS / 1000} s: it hangs`,
  );
  assert.equal(results.size, probes.length, `the probe process ended early: ${r.stderr.slice(-2000)}`);
  return results;
}

describe("hostile files: refused with the file and the fix, never a hang (probes in a child process)", {
  skip: !canFifo && "needs mkfifo",
}, () => {
  const probes: Probe[] = [];
  const expect = new Map<string, { why: RegExp; maxMs?: number }>();
  const add = (id: string, run: Probe["run"], args: string[], why: RegExp, maxMs?: number) => {
    probes.push({ id, run, args });
    expect.set(id, { why, maxMs });
  };
  let results: Map<string, ProbeResult>;
  const check = (prefix: string) => {
    const ids = [...expect.keys()].filter((id) => id.startsWith(prefix));
    assert.ok(ids.length > 0, `probes ${prefix}*`);
    for (const id of ids) {
      const r = results.get(id)!;
      const { why, maxMs } = expect.get(id)!;
      assert.equal(r.ok, false, `${id} was refused`);
      assert.match(r.error!, why, id);
      assert.doesNotMatch(r.error!, /^(TypeError|RangeError)|\bat .+:\d+:\d+/, `${id}: a clear message`);
      if (maxMs !== undefined) assert.ok(r.ms < maxMs, `${id} took ${r.ms.toFixed(0)} ms (at most ${maxMs})`);
    }
  };

  before(() => {
    const fifos = fresh("fifos");
    const FIFO =
      /is a FIFO \(named pipe\), not a regular file \(reading it could wait forever or never end, so Monet Lens does not open it\); give the path of the .* itself, a regular file/;
    const LINKED = /is a symbolic link to .*, which is a FIFO \(named pipe\), not a regular file/;
    for (const [file, what] of [
      ["config.json", "config"],
      ["tokenizer.model", "tokenizer"],
      [SHARD, "shard"],
    ] as const) {
      const direct = demoCopy(`fifo-${what}`, (d) => replaceWith(d, file, mkfifo));
      const target = mkfifo(join(fifos, `${what}.fifo`));
      const linked = demoCopy(`link-${what}`, (d) => replaceWith(d, file, (p) => symlinkSync(target, p)));
      const named = (re: RegExp, dir: string) =>
        new RegExp(`${join(dir, file).replaceAll(/[.*+?^${}()|[\]\\]/g, "\\$&")}: ${re.source}`);
      add(`fifo-${what}-info`, "cli", ["info", "--model", direct], named(FIFO, direct), 5000);
      add(`fifo-${what}-validate`, "validate", [direct], named(FIFO, direct), 5000);
      add(
        `fifo-${what}-generate`,
        "cli",
        ["generate", "--model", direct, "--prompt", "x"],
        named(FIFO, direct),
        5000,
      );
      add(`fifo-${what}-link-info`, "cli", ["info", "--model", linked], named(LINKED, linked), 5000);
      add(`fifo-${what}-link-validate`, "validate", [linked], named(LINKED, linked), 5000);
    }
    const configFifo = demoCopy("fifo-config-async", (d) => replaceWith(d, "config.json", mkfifo));
    add("fifo-async-config", "configAsync", [configFifo], FIFO, 5000);
    add("fifo-async-tokenizer", "tokenizerAsync", [mkfifo(join(fifos, "tokenizer.model"))], FIFO, 5000);
    add("fifo-async-atlas", "atlasAsync", [mkfifo(join(fifos, "a.atlas.json"))], FIFO, 5000);

    const dirConfig = demoCopy("dir-config", (d) => replaceWith(d, "config.json", (p) => mkdirSync(p)));
    for (const run of ["validate", "configAsync"] as const)
      add(
        `folder-config-${run}`,
        run,
        [dirConfig],
        /config\.json: is a folder, not a regular file; give the path of the config\.json itself/,
      );
    const zeroConfig = demoCopy("zero-config", (d) =>
      replaceWith(d, "config.json", (p) => symlinkSync("/dev/zero", p)),
    );
    add(
      "device-config",
      "cli",
      ["info", "--model", zeroConfig],
      /config\.json: is a symbolic link to \/dev\/zero, which is a character device/,
      5000,
    );

    const textDir = fresh("route-text");
    const big = join(textDir, "big.py");
    writeFileSync(big, "x = 1\n".repeat(900_000)); // 5.4 MB
    add(
      "route-file-dev-zero",
      "cli",
      ["route", "--file", "/dev/zero"],
      /^\/dev\/zero: is a character device, not a regular file/,
      5000,
    );
    add(
      "route-file-folder",
      "cli",
      ["route", "--file", textDir],
      /route-text: is a folder, not a regular file; give the path of the text file itself/,
      5000,
    );
    add("route-file-fifo", "cli", ["route", "--file", mkfifo(join(textDir, "pipe"))], FIFO, 5000);
    add(
      "route-file-huge",
      "cli",
      ["route", "--file", big],
      /big\.py: is 5\.4 MB, more than the 4\.2 MB Monet Lens reads for a text file/,
      5000,
    );

    for (const [id, edit, why] of [
      [
        "size-layers-1e8",
        { num_hidden_layers: 1e8 },
        /"num_hidden_layers" must be an integer from 1 to 1024 \(what Monet Lens supports\), found 100000000/,
      ],
      [
        "size-positions-1",
        { max_position_embeddings: 1 },
        /"max_position_embeddings" must be an integer from 16 to 131072 .*, found 1:/,
      ],
      [
        "size-positions-1e9",
        { max_position_embeddings: 1e9 },
        /"max_position_embeddings" must be an integer from 16 to 131072 .*, found 1000000000/,
      ],
      ["size-experts-1e6", { moe_experts: 1e6 }, /"moe_experts" must be an integer from 1 to 4096/],
      ["size-vocab-1e12", { vocab_size: 1e12 }, /"vocab_size" must be an integer from 1 to 4194304/],
    ] as const) {
      const d = demoCopy(id, (dir) => editConfig(dir, edit));
      add(id, "cli", ["info", "--model", d], new RegExp(`config\\.json: ${why.source}`), 3000);
      add(`${id}-generate`, "cli", ["generate", "--model", d, "--prompt", "x"], why, 3000);
    }
    add(
      "size-threads",
      "cli",
      ["bench", "--threads", "100000"],
      /--threads: 100000 threads; use 1 to 256 \(this machine has \d+ cores\)/,
      2000,
    );

    for (const [id, edit, why] of [
      [
        "tokens-eos",
        { eos_token_id: 5 },
        /tokenizer\.model: config\.json's "eos_token_id" is 5 \(the piece ".*"\) but this tokenizer's end-of-text piece "<\/s>" is id 2: config\.json and tokenizer\.model come from different models/,
      ],
      [
        "tokens-bos",
        { bos_token_id: 3 },
        /tokenizer\.model: config\.json's "bos_token_id" is 3 .* beginning-of-text piece "<s>" is id 1/,
      ],
    ] as const) {
      const d = demoCopy(id, (dir) => editConfig(dir, edit));
      add(`${id}-info`, "cli", ["info", "--model", d], why);
      add(`${id}-validate`, "validate", [d], why);
    }

    // Files read once the model runs (the demo model, converted in TEST_CACHE).
    const run = fresh("run-files");
    add(
      "fifo-mask-file",
      "cli",
      ["generate", "--prompt", "x", "--max-tokens", "1", "--mask-file", mkfifo(join(run, "m.json"))],
      /m\.json: cannot read the mask file \(is a FIFO/,
    );
    add(
      "fifo-atlas",
      "cli",
      ["route", "--text", "x", "--atlas", mkfifo(join(run, "a.atlas.json"))],
      /a\.atlas\.json: is a FIFO/,
    );
    const shape = JSON.parse(readFileSync(SHIPPED_ATLAS, "utf8")) as {
      model: { config: { routingGroups: number } };
      groups: unknown[];
      baselines?: Record<string, number[]>;
    };
    // A consistent edit: one more group everywhere (sets and baselines), so only the shape check can tell.
    shape.model.config.routingGroups += 1;
    shape.groups.push(shape.groups[0]);
    for (const b of Object.values(shape.baselines ?? {})) b.push(b[0]!);
    const edited = join(run, "edited.atlas.json");
    writeFileSync(edited, JSON.stringify(shape));
    add(
      "atlas-shape-route",
      "cli",
      ["route", "--text", "x = 1", "--atlas", edited],
      /edited\.atlas\.json has the fingerprint of the model being run but describes 3 routing groups of 512×512 experts, 4 heads, while the model has 2 routing groups of 512×512 experts, 4 heads: the atlas file was edited or damaged; rebuild it/,
    );
    add(
      "atlas-shape-mask",
      "cli",
      ["generate", "--prompt", "x", "--mask", "python", "--atlas", edited],
      /has the fingerprint of the model being run but describes 3 routing groups/,
    );
    add(
      "atlas-out-fifo",
      "cli",
      ["atlas", "build", "--corpus", run, "--out", mkfifo(join(run, "out.fifo"))],
      /out\.fifo is a FIFO \(named pipe\), not a regular file: Monet Lens only writes regular files/,
      5000,
    );

    results = runProbes(probes);
  });

  it("a FIFO as config.json, tokenizer.model or a shard, directly and through a symbolic link: info, generate and Select Model Folder's check refuse it at once", () => {
    check("fifo-");
  });
  it("config.json that is a folder or a link to /dev/zero", () => {
    check("folder-config");
    check("device-config");
  });
  it("route --file /dev/zero, a folder, a FIFO, a 5 MB file: refused naming the file and the 4.2 MB bound", () => {
    check("route-file-");
  });
  it("sizes from config.json and flags out of range (layers 1e8, positions 1 and 1e9, experts, vocabulary, --threads 100000): a clear error at once", () => {
    check("size-");
  });
  it("bos_token_id / eos_token_id that disagree with the tokenizer", () => {
    check("tokens-");
  });
  it("a FIFO as a mask file or an atlas, an atlas edited to another shape, atlas build --out onto a FIFO", () => {
    check("fifo-mask");
    check("fifo-atlas");
    check("atlas-");
  });
});

describe("writing files: never over a device, a FIFO or a folder; through a symbolic link only to where it points", () => {
  const atlas = readAtlasFile(SHIPPED_ATLAS);
  const isRoot = process.getuid?.() === 0;

  it("a device node (made with mknod, as root) or a FIFO as the target is refused and left as it was", {
    skip: !canFifo && "needs mkfifo",
  }, () => {
    const d = fresh("write-devices");
    const targets = [mkfifo(join(d, "fifo.json"))];
    if (isRoot && spawnSync("mknod", [join(d, "full"), "c", "1", "7"]).status === 0)
      targets.push(join(d, "full"));
    const dir = join(d, "folder.json");
    mkdirSync(dir);
    targets.push(dir);
    for (const t of targets) {
      const before = lstatSync(t);
      assert.throws(
        () => writeAtlasFile(t, atlas),
        (e: Error) =>
          e.message.startsWith(t) &&
          /is (a FIFO \(named pipe\)|a character device|a folder), not a regular file: Monet Lens only writes regular files/.test(
            e.message,
          ),
      );
      const now = lstatSync(t);
      assert.equal(now.mode, before.mode, `${t} is unchanged`);
      assert.equal(now.rdev, before.rdev);
    }
    // A link to a device is refused the same way, naming the link and what it points to.
    if (targets.length > 2) {
      const link = join(d, "link-to-full.json");
      symlinkSync(join(d, "full"), link);
      assert.throws(
        () => writeAtlasFile(link, atlas),
        /link-to-full\.json is a symbolic link to .*full, which is a character device/,
      );
      assert.ok(lstatSync(link).isSymbolicLink());
    }
    assert.deepEqual(
      readdirSync(d).filter((n) => n.includes(".tmp-")),
      [],
      "no temporary files left",
    );
  });

  it("through a symbolic link (also a dangling one and a chain): the file it points to is replaced atomically, the link stays", () => {
    const d = fresh("write-links");
    const real = join(d, "real");
    mkdirSync(real);
    writeFileSync(join(real, "a.atlas.json"), "old");
    const link = join(d, "a.atlas.json");
    symlinkSync(join(real, "a.atlas.json"), link);
    const chain = join(d, "chain.json");
    symlinkSync(link, chain);
    writeAtlasFile(chain, atlas);
    assert.ok(lstatSync(link).isSymbolicLink() && lstatSync(chain).isSymbolicLink(), "the links stay links");
    assert.equal(readAtlasFile(join(real, "a.atlas.json")).languages.length, atlas.languages.length);
    const dangling = join(d, "new.atlas.json");
    symlinkSync(join(real, "new.atlas.json"), dangling);
    writeFileAtomic(dangling, "made where the link points");
    assert.equal(readFileSync(join(real, "new.atlas.json"), "utf8"), "made where the link points");
    assert.ok(lstatSync(dangling).isSymbolicLink());
    for (const f of [d, real])
      assert.deepEqual(
        readdirSync(f).filter((n) => n.includes(".tmp-")),
        [],
      );
  });

  it("a path under a file: the file in the way is named", () => {
    const d = fresh("write-under-file");
    writeFileSync(join(d, "plain"), "x");
    assert.throws(
      () => writeFileAtomic(join(d, "plain", "sub", "a.json"), "x"),
      /plain is a file, not a folder, so the folder .*plain\/sub cannot be made: choose another path/,
    );
    assert.throws(
      () => writeFileAtomic(join(d, "plain", "a.json"), "x"),
      /plain is a file, not a folder, so the folder .*plain cannot be made: choose another path/,
    );
  });
});

describe("the conversion cache", () => {
  const fixture = join(FIXTURES, "random-vd");
  const lockFor = async (cacheDir: string, ckpt: Checkpoint) =>
    join(
      cacheDir,
      "converted",
      `${(await ckpt.fingerprint()).slice(0, 24)}-v${CONVERTER_VERSION}-float32.lock`,
    );

  it("a cache path that is a file, or whose converted/ is a file: the file is named with the fix", async () => {
    const ckpt = await Checkpoint.open(fixture);
    try {
      const d = fresh("cache-file");
      const file = join(d, "cache");
      writeFileSync(file, "not a folder");
      await assert.rejects(
        ensureConverted(ckpt, { cacheDir: file }),
        /cache is a file, not a folder, so the folder .*cache\/converted cannot be made: remove it, or set MONET_LENS_CACHE to another folder/,
      );
      mkdirSync(join(d, "cache2"));
      writeFileSync(join(d, "cache2", "converted"), "");
      await assert.rejects(
        ensureConverted(ckpt, { cacheDir: join(d, "cache2") }),
        /cache2\/converted is a file, not a folder/,
      );
    } finally {
      await ckpt.close();
    }
  });

  it("a lock held by a live process that is not Monet Lens (an old-style bare pid), by a reused pid, or not refreshed for minutes: taken over at once, with a log line saying why", {
    skip: !existsSync("/proc/self/stat") && "needs /proc",
  }, async () => {
    const sleeper = spawn("sleep", ["120"], { stdio: "ignore" });
    try {
      const ckpt = await Checkpoint.open(fixture);
      try {
        for (const [label, content, age, why] of [
          [
            "bare-pid",
            String(sleeper.pid),
            0,
            new RegExp(`process ${sleeper.pid} is "sleep", not a Monet Lens process`),
          ],
          [
            "reused-pid",
            JSON.stringify({ pid: sleeper.pid, started: "1", host: (await import("node:os")).hostname() }),
            0,
            /that pid now belongs to another program/,
          ],
          [
            "hung",
            JSON.stringify({
              pid: process.pid,
              started: readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ")[19],
              host: (await import("node:os")).hostname(),
            }),
            3 * 60_000,
            new RegExp(
              `process ${process.pid} has not refreshed it for 3 minutes \\(it is hung or stopped\\)`,
            ),
          ],
        ] as const) {
          const cacheDir = fresh(`lock-${label}`);
          const lock = await lockFor(cacheDir, ckpt);
          mkdirSync(join(cacheDir, "converted"), { recursive: true });
          writeFileSync(lock, content);
          const t = new Date(Date.now() - age);
          utimesSync(lock, t, t);
          const logs: string[] = [];
          const t0 = Date.now();
          const r = await ensureConverted(ckpt, { cacheDir, log: (l) => logs.push(l) });
          assert.equal(r.converted, true, label);
          assert.ok(Date.now() - t0 < 20_000, `${label}: no long wait`);
          assert.ok(
            logs.some((l) => l.startsWith(`removed the lock ${lock}: `) && why.test(l)),
            `${label}: ${logs.join(" | ")}`,
          );
          assert.ok(!existsSync(lock), "the lock is released");
        }
        assert.ok(alive(sleeper.pid!), "the unrelated process was left alone");
      } finally {
        await ckpt.close();
      }
    } finally {
      sleeper.kill();
    }
  });

  it("a live holder is waited for, with a log line naming the lock and what to do", async () => {
    const ckpt = await Checkpoint.open(fixture);
    const cacheDir = fresh("lock-live");
    const lock = await lockFor(cacheDir, ckpt);
    mkdirSync(join(cacheDir, "converted"), { recursive: true });
    const started = existsSync("/proc/self/stat")
      ? readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ")[19]
      : undefined;
    writeFileSync(
      lock,
      JSON.stringify({ pid: process.pid, started, host: (await import("node:os")).hostname() }),
    );
    const logs: string[] = [];
    const abort = new AbortController();
    const waiting = ensureConverted(ckpt, { cacheDir, log: (l) => logs.push(l), signal: abort.signal });
    await new Promise((r) => setTimeout(r, 600));
    abort.abort();
    await assert.rejects(waiting, /cancelled while waiting for another process converting this model/);
    assert.ok(
      logs.some((l) =>
        new RegExp(
          `waiting for another process converting this model \\(lock .*held by process ${process.pid}\\); if no other Monet Lens window or command is converting this model, delete `,
        ).test(l),
      ),
      logs.join(" | "),
    );
    await ckpt.close();
  });

  it("weights holding NaN or infinity are refused at conversion, naming the tensor and its file", async () => {
    const SMALL: HfMonetConfigJson = {
      hidden_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      moe_dim: 4,
      moe_heads: 2,
      moe_experts: 8,
      moe_topk: 2,
      max_position_embeddings: 64,
      vocab_size: 512,
    };
    for (const [label, bits] of [
      ["nan", 0x7fc0],
      ["inf", 0xff80],
    ] as const) {
      const d = fresh(`nan-${label}`);
      await writeSyntheticCheckpoint(d, SMALL, { seed: 3 });
      const name = "model.layers.1.self_attn.q_proj.weight";
      let ckpt = await Checkpoint.open(d);
      const file = ckpt.info(name).file;
      await ckpt.close();
      const st = await SafetensorsFile.open(file);
      const pos = st.dataStart + st.entry(name).begin + 2 * 17; // the 18th value
      await st.close();
      const fd = openSync(file, "r+");
      writeSync(fd, Buffer.from([bits & 0xff, bits >> 8]), 0, 2, pos);
      closeSync(fd);
      ckpt = await Checkpoint.open(d);
      try {
        await assert.rejects(
          ensureConverted(ckpt, { cacheDir: fresh(`nan-cache-${label}`) }),
          new RegExp(
            `${file.replaceAll(".", "\\.")}: tensor "${name.replaceAll(".", "\\.")}" holds 1 non-finite value \\(the first, at index 17, is (NaN|-Infinity)\\): the checkpoint is damaged .*; re-download it`,
          ),
        );
      } finally {
        await ckpt.close();
      }
    }
  });
});

describe("a symbolic link as the corpus root", () => {
  it("is followed (the root the user gave); links inside the corpus are still skipped", () => {
    const d = fresh("corpus-link");
    const real = join(d, "real");
    mkdirSync(join(real, "pkg"), { recursive: true });
    writeFileSync(join(real, "pkg", "a.py"), "def f():\n    return 1\n");
    writeFileSync(join(real, "b.rs"), "fn main() {}\n");
    symlinkSync(join(real, "b.rs"), join(real, "c.rs"));
    const link = join(d, "corpus");
    symlinkSync(real, link);
    const scan = scanCorpus(link);
    assert.deepEqual(
      scan.files.map((f) => f.rel),
      ["b.rs", "pkg/a.py"],
    );
    assert.deepEqual(scan.skipped, [{ rel: "c.rs", reason: "symbolic link" }]);
    assert.equal(readlinkSync(link), real);
  });
});

describe("out of memory", () => {
  it("at session creation: the size of the model and what to do, not std::bad_alloc", async () => {
    await assert.rejects(
      Engine.open({
        modelDir: DEMO_MODEL,
        ep: "cpu",
        dtype: "float32",
        cacheDir: TEST_CACHE,
        sessions: {
          create: async () => {
            throw new Error("std::bad_alloc");
          },
          probes: [{ name: "cpu", available: true, reason: "" }],
        },
      }),
      /^OutOfMemoryError: not enough memory to load the model \(\d+(\.\d+)? MB of weights in .*model\.onnx; onnxruntime said: std::bad_alloc\): close other programs, use float16 weights \(half the memory: --dtype float16\), or use a smaller model$/,
    );
  });

  it("while running: the tokens, the weights and the cache it needed, and what to do", async () => {
    const ckpt = await Checkpoint.open(DEMO_MODEL);
    const config = ckpt.config;
    await ckpt.close();
    const session = {
      inputNames: ["past_length"],
      run: async () => {
        throw new Error(
          "[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while running MatMul node. Name:'x' Status Message: std::bad_alloc",
        );
      },
    } as unknown as ort.InferenceSession;
    const runner = new MonetRunner(session, config);
    await assert.rejects(
      runner.forward({ ids: [1, 2, 3], cache: KvCache.empty(runner.cacheShape()) }),
      /not enough memory to run the model on 3 tokens \(\d+ MB of float32 weights and \d+(\.\d+)? kB of cached keys and values; onnxruntime said: .*\): use fewer context tokens \(monetLens\.contextTokens\), float16 weights \(--dtype float16\), or close other programs/,
    );
  });
});
