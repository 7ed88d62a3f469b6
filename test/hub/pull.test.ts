// `pull` against a loopback server that answers like the Hub (fake-hub.ts), serving the demo
// model plus files pull must never request: the cache it writes (byte for byte the layout
// Python's huggingface_hub writes), resume after a dropped connection, a kill or a cancel,
// checksums, 401/404, disk space, and offline use.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
  copyFileSync,
} from "node:fs";
import { join } from "node:path";
import { DEMO_MODEL, TEST_CACHE } from "../helpers/fixtures";
import { alive, until } from "../helpers/processes";
import { mountTmpfs, scratchDirs, unmount } from "../reliability/helpers";
import { pull } from "../../src/hub/pull";
import { resolveModelRef } from "../../src/hub/resolve";
import { HubError } from "../../src/hub/errors";
import { isWantedFile } from "../../src/hub/wanted-files";
import { repoFromFolder, startFakeHub, type FakeHub, type FakeRepo } from "./fake-hub";

const CLI = join(process.cwd(), "dist", "cli.js");
const REPO = "MonetLLM/tiny-codemonet-test";
const GATED = "MonetLLM/gated-test";
const TOKEN = "hf_testtoken0123456789";
const EXTRA = {
  "modeling_monet.py": "raise SystemExit('never run model code')\n",
  "interpretation/routings-0.pkl": Buffer.alloc(4096, 7),
  "README.md": "# test\n",
};
const BIG = "model-00004-of-00006.safetensors"; // 14.9 MB

mkdirSync(TEST_CACHE, { recursive: true });
// Hermetic: no token from this machine's environment or huggingface-cli login.
delete process.env.HF_TOKEN;
delete process.env.HUGGING_FACE_HUB_TOKEN;
process.env.HF_TOKEN_PATH = join(TEST_CACHE, "no-such-token-file");
const dirs = scratchDirs("hub-pull-");
let hub: FakeHub;
let repo: FakeRepo;

before(async () => {
  repo = repoFromFolder(REPO, DEMO_MODEL, EXTRA);
  hub = await startFakeHub([repo, repoFromFolder(GATED, DEMO_MODEL, {}, { gated: true })], { token: TOKEN });
});
after(() => hub.close());

const opts = (cacheDir: string) => ({ cacheDir, endpoint: hub.url, token: undefined, offline: false });

function cliEnv(cacheDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HF_ENDPOINT: hub.url, HF_HUB_CACHE: cacheDir };
  delete env.HF_TOKEN;
  delete env.HF_HUB_OFFLINE;
  return { ...env, HF_TOKEN_PATH: join(cacheDir, "no-token"), ...extra };
}

async function rejectsWith(p: Promise<unknown>, kind: HubError["kind"], pattern: RegExp): Promise<HubError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof HubError, `expected a HubError, got ${(e as Error).stack}`);
    assert.equal(e.kind, kind, e.message);
    assert.match(e.message, pattern);
    return e;
  }
  assert.fail("expected a rejection");
}

/** Runs the CLI without blocking this process's event loop (the fake Hub lives here). */
function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const gitSha1 = (b: Buffer) => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");
const contentRequests = (h: FakeHub, file: string, sha = repo.files.get(file)!.sha256) =>
  h.requests.filter((r) => r.path === `/cdn/${sha}` && r.range !== "bytes=0-0");

describe("pull from a loopback Hub", () => {
  it("fetches the demo model into Python's cache layout, and `monet-lens info` runs on the snapshot", async () => {
    const cacheDir = dirs.fresh("full");
    const seen = hub.requests.length;
    const events: number[] = [];
    const r = await pull(REPO, { ...opts(cacheDir), onProgress: (p) => events.push(p.bytesDone) });
    const root = join(cacheDir, "models--MonetLLM--tiny-codemonet-test");
    assert.equal(r.commit, repo.commit);
    assert.equal(r.dir, join(root, "snapshots", repo.commit));

    // The layout, as Python's huggingface_hub writes it: refs/main holds the bare commit hash,
    // snapshot entries are relative links to blobs named by sha256 (LFS) or git sha1 (others).
    assert.equal(readFileSync(join(root, "refs", "main"), "utf8"), repo.commit);
    const wanted = readdirSync(DEMO_MODEL).filter(isWantedFile).sort();
    assert.deepEqual(readdirSync(r.dir).sort(), wanted);
    const blobs: string[] = [];
    for (const name of wanted) {
      const src = readFileSync(join(DEMO_MODEL, name));
      const lfs = name.endsWith(".safetensors") || name === "tokenizer.model";
      const etag = lfs ? sha256(src) : gitSha1(src);
      blobs.push(etag);
      const link = join(r.dir, name);
      assert.ok(lstatSync(link).isSymbolicLink(), `${name} is a symlink`);
      assert.equal(readlinkSync(link), `../../blobs/${etag}`, name);
      assert.ok(readFileSync(link).equals(src), `${name} holds the same bytes`);
    }
    assert.deepEqual(readdirSync(join(root, "blobs")).sort(), blobs.sort(), "no .incomplete file left");
    assert.deepEqual(readdirSync(root).sort(), ["blobs", "refs", "snapshots"]);

    // Only the allowed files were requested (the listing names the .py and .pkl files too).
    const asked = hub.requests.slice(seen).map((q) => q.path);
    assert.ok(
      !asked.some((p) => /\.py$|\.pkl$|README|MODEL_CARD|training-metrics/.test(p)),
      asked.join("\n"),
    );
    assert.ok(
      asked.some((p) => p.startsWith("/cdn/")),
      "LFS files come through the CDN redirect",
    );
    assert.equal(
      r.bytesFetched,
      wanted.reduce((s, n) => s + statSync(join(DEMO_MODEL, n)).size, 0),
    );
    assert.ok(events.length > 2 && events.at(-1) === r.bytesFetched, "progress reaches the total");

    const info = spawnSync(process.execPath, [CLI, "info", "--model", r.dir, "--json"], { encoding: "utf8" });
    assert.equal(info.status, 0, info.stderr);
    assert.equal(JSON.parse(info.stdout).parameters, 40_933_760);

    // A second pull finds every blob and requests no file content.
    const again = hub.requests.length;
    const r2 = await pull(REPO, opts(cacheDir));
    assert.ok(r2.files.every((f) => !f.downloaded));
    assert.ok(
      !hub.requests.slice(again).some((q) => q.path.startsWith("/cdn/") || q.path.includes("/resolve/")),
    );
  });

  it("resumes a file after a dropped connection without fetching its first bytes again", async () => {
    const cacheDir = dirs.fresh("drop");
    const size = repo.files.get(BIG)!.size;
    hub.faults.drop = { path: BIG, afterBytes: 5_000_000, times: 1 };
    const seen = hub.requests.length;
    try {
      await pull(REPO, opts(cacheDir));
    } finally {
      delete hub.faults.drop;
    }
    const reqs = contentRequests({ ...hub, requests: hub.requests.slice(seen) }, BIG);
    assert.equal(reqs.length, 2, JSON.stringify(reqs));
    assert.equal(reqs[0]!.range, undefined);
    assert.equal(reqs[0]!.sent, 5_000_000);
    // Bytes the client had buffered but not yet written when the stream failed are lost (see the
    // next test), so the resume starts at what is on disk: after the start, at most the drop point.
    const from = Number(/^bytes=(\d+)-$/.exec(reqs[1]!.range ?? "")?.[1]);
    assert.ok(from > 0 && from <= 5_000_000, `resumed from ${reqs[1]!.range}`);
    assert.equal(reqs[1]!.sent, size - from, "only the rest was sent");
  });

  it("keeps the bytes when the connection keeps failing, and the next run resumes from them", async () => {
    const cacheDir = dirs.fresh("drop-twice");
    hub.faults.drop = { path: BIG, afterBytes: 3_000_000, times: 2 };
    const err = await rejectsWith(
      pull(REPO, { ...opts(cacheDir), retries: 0 }),
      "network",
      /run the same command again to resume/,
    );
    // The server sends 3,000,000 bytes and closes; bytes the client had buffered but not yet
    // written when the stream failed are lost (fetch discards an errored stream's queue), so
    // what is kept is a prefix of at most that, and the message and the next request agree on it.
    const sha = repo.files.get(BIG)!.sha256;
    const incomplete = join(cacheDir, "models--MonetLLM--tiny-codemonet-test", "blobs", `${sha}.incomplete`);
    const kept = statSync(incomplete).size;
    assert.ok(kept > 0 && kept <= 3_000_000, `kept ${kept} bytes`);
    assert.match(err.message, new RegExp(`${kept.toLocaleString("en-US")} of`));
    assert.ok(!existsSync(incomplete.replace(".incomplete", "")), "no blob under the final name");
    const seen = hub.requests.length;
    await pull(REPO, opts(cacheDir)); // one more drop (times: 2), then the rest
    delete hub.faults.drop;
    const reqs = contentRequests({ ...hub, requests: hub.requests.slice(seen) }, BIG);
    assert.equal(reqs.length, 2, JSON.stringify(reqs));
    assert.equal(reqs[0]!.range, `bytes=${kept}-`);
    const second = Number(/^bytes=(\d+)-$/.exec(reqs[1]!.range ?? "")?.[1]);
    assert.ok(second > kept && second <= kept + 3_000_000, `second range ${reqs[1]!.range}`);
  });

  it("refuses a file whose sha256 differs from the Hub's and keeps nothing of it", async () => {
    const cacheDir = dirs.fresh("checksum");
    const file = "model-00002-of-00006.safetensors";
    hub.faults.corrupt = file;
    try {
      await rejectsWith(pull(REPO, opts(cacheDir)), "checksum", /does not match the Hub's checksum.*deleted/);
    } finally {
      delete hub.faults.corrupt;
    }
    const blobs = readdirSync(join(cacheDir, "models--MonetLLM--tiny-codemonet-test", "blobs"));
    const sha = repo.files.get(file)!.sha256;
    assert.ok(!blobs.some((b) => b.startsWith(sha)), blobs.join(" "));
  });

  it("401 on a gated repo without a token says to set HF_TOKEN; with the token it works", async () => {
    const cacheDir = dirs.fresh("gated");
    await rejectsWith(pull(GATED, opts(cacheDir)), "unauthorized", /HTTP 401.*set HF_TOKEN/);
    const r = await pull(GATED, { ...opts(cacheDir), token: TOKEN });
    assert.ok(existsSync(join(r.dir, "config.json")));
    const cli = await runCli(["pull", GATED], cliEnv(dirs.fresh("gated-cli")));
    assert.equal(cli.status, 1);
    assert.match(cli.stderr, /HF_TOKEN/);
    assert.doesNotMatch(cli.stderr, /\n\s+at .+:\d+:\d+/, "no stack trace");
  });

  it("404 for an unknown repo or revision", async () => {
    const cacheDir = dirs.fresh("404");
    await rejectsWith(pull("MonetLLM/no-such-model", opts(cacheDir)), "not-found", /not found.*HTTP 404/);
    await rejectsWith(pull(`${REPO}@no-such-branch`, opts(cacheDir)), "not-found", /HTTP 404/);
  });

  it("checks free disk space first, naming the folder and the bytes needed", async () => {
    const cacheDir = dirs.fresh("space");
    const seen = hub.requests.length;
    await rejectsWith(
      pull(REPO, { ...opts(cacheDir), freeBytes: () => 1_000_000 }),
      "disk-space",
      /not enough disk space in .*blobs: the download needs 82\.0 MB \(82,014,863 bytes\) and 1\.00 MB are free/,
    );
    assert.ok(!hub.requests.slice(seen).some((q) => q.path.startsWith("/cdn/")), "nothing fetched");
  });

  it("a disk that fills up mid-file fails with the folder named, and keeps what fits", async (t) => {
    const mnt = dirs.fresh("tmpfs");
    if (!mountTmpfs(mnt, "24m")) return t.skip("cannot mount a tmpfs here (not root)");
    try {
      await rejectsWith(
        pull(REPO, { ...opts(mnt), freeBytes: () => 1e12 }),
        "disk-space",
        /cannot write .*\.incomplete: the disk is full \(ENOSPC\).*run the same command again to resume/,
      );
      const blobs = readdirSync(join(mnt, "models--MonetLLM--tiny-codemonet-test", "blobs"));
      assert.ok(blobs.every((b) => b.endsWith(".incomplete") || /^[0-9a-f]{40,64}$/.test(b)));
      for (const b of blobs.filter((x) => !x.endsWith(".incomplete"))) {
        const bytes = readFileSync(join(mnt, "models--MonetLLM--tiny-codemonet-test", "blobs", b));
        assert.ok(b === sha256(bytes) || b === gitSha1(bytes), `complete blob ${b} is whole`);
      }
    } finally {
      unmount(mnt);
    }
  });

  it("cancelling keeps a resumable file; the next pull resumes it", async () => {
    const cacheDir = dirs.fresh("cancel");
    hub.faults.slow = { path: BIG, bytesPerSecond: 4_000_000 };
    const abort = new AbortController();
    const incomplete = join(
      cacheDir,
      "models--MonetLLM--tiny-codemonet-test",
      "blobs",
      `${repo.files.get(BIG)!.sha256}.incomplete`,
    );
    const running = pull(REPO, { ...opts(cacheDir), signal: abort.signal });
    await until(
      "part of the big file is on disk",
      () => existsSync(incomplete) && statSync(incomplete).size > 1_000_000,
    );
    abort.abort();
    await rejectsWith(running, "cancelled", /run the same command again to resume/);
    delete hub.faults.slow;
    const kept = statSync(incomplete).size;
    assert.ok(kept > 1_000_000);
    assert.deepEqual(
      readdirSync(join(cacheDir, ".locks", "models--MonetLLM--tiny-codemonet-test")),
      [],
      "lock released",
    );
    const seen = hub.requests.length;
    await pull(REPO, opts(cacheDir));
    const reqs = contentRequests({ ...hub, requests: hub.requests.slice(seen) }, BIG);
    assert.equal(reqs[0]!.range, `bytes=${kept}-`);
  });

  it("`monet-lens pull` killed with SIGKILL mid-file: the rerun takes over the lock and completes", async () => {
    const cacheDir = dirs.fresh("kill");
    hub.faults.slow = { path: BIG, bytesPerSecond: 3_000_000 };
    const incomplete = join(
      cacheDir,
      "models--MonetLLM--tiny-codemonet-test",
      "blobs",
      `${repo.files.get(BIG)!.sha256}.incomplete`,
    );
    const child = spawn(process.execPath, [CLI, "pull", REPO], { env: cliEnv(cacheDir), stdio: "ignore" });
    try {
      await until(
        "the child is inside the big file",
        () => existsSync(incomplete) && statSync(incomplete).size > 1_000_000,
        30_000,
      );
    } finally {
      child.kill("SIGKILL");
      delete hub.faults.slow;
    }
    await until("the child is gone", () => child.exitCode !== null || child.signalCode !== null);
    assert.ok(!alive(child.pid!) || child.signalCode === "SIGKILL");
    const kept = statSync(incomplete).size;
    const lockDir = join(cacheDir, ".locks", "models--MonetLLM--tiny-codemonet-test");
    assert.equal(readdirSync(lockDir).length, 1, "the dead process's lock is left behind");
    const seen = hub.requests.length;
    const rerun = await runCli(["pull", REPO, "--json"], cliEnv(cacheDir));
    assert.equal(rerun.status, 0, rerun.stderr);
    const out = JSON.parse(rerun.stdout) as { dir: string; commit: string };
    assert.equal(out.commit, repo.commit);
    const reqs = contentRequests({ ...hub, requests: hub.requests.slice(seen) }, BIG);
    assert.equal(reqs[0]!.range, `bytes=${kept}-`, "resumed where the killed run stopped");
    assert.ok(readFileSync(join(out.dir, BIG)).equals(readFileSync(join(DEMO_MODEL, BIG))));
    assert.deepEqual(readdirSync(lockDir), []);
  });
});

describe("the cache without a network", () => {
  /** Lays out a cache by hand exactly as Python's huggingface_hub writes it. */
  function pythonCache(cacheDir: string, repoId: string, commit: string): string {
    const root = join(cacheDir, `models--${repoId.replace("/", "--")}`);
    const snap = join(root, "snapshots", commit);
    mkdirSync(join(root, "blobs"), { recursive: true });
    mkdirSync(snap, { recursive: true });
    mkdirSync(join(root, "refs"), { recursive: true });
    writeFileSync(join(root, "refs", "main"), commit);
    for (const name of readdirSync(DEMO_MODEL)) {
      const src = readFileSync(join(DEMO_MODEL, name));
      const etag = name.endsWith(".safetensors") || name.endsWith(".model") ? sha256(src) : gitSha1(src);
      copyFileSync(join(DEMO_MODEL, name), join(root, "blobs", etag));
      spawnSync("ln", ["-s", `../../blobs/${etag}`, join(snap, name)]);
    }
    // What huggingface-cli also leaves: the modeling code and a .no_exist marker folder.
    writeFileSync(join(root, "blobs", "0123456789abcdef0123456789abcdef01234567"), "code\n");
    spawnSync("ln", [
      "-s",
      "../../blobs/0123456789abcdef0123456789abcdef01234567",
      join(snap, "modeling_monet.py"),
    ]);
    mkdirSync(join(root, ".no_exist", commit), { recursive: true });
    return snap;
  }

  it("finds a model that Python's huggingface_hub cached, with no server running", async () => {
    const cacheDir = dirs.fresh("python-cache");
    const commit = `f530419${"0".repeat(33)}`;
    const snap = pythonCache(cacheDir, "MonetLLM/codemonet-vd-1.4B-100BT-hf", commit);
    const r = resolveModelRef("MonetLLM/codemonet-vd-1.4B-100BT-hf", { cacheDir });
    assert.equal(r.dir, snap);
    assert.equal(r.hub?.commit, commit);
    assert.equal(resolveModelRef(`MonetLLM/codemonet-vd-1.4B-100BT-hf@${commit}`, { cacheDir }).dir, snap);
    // pull with HF_HUB_OFFLINE=1 answers from the cache: the endpoint is unreachable on purpose.
    const p = await pull("MonetLLM/codemonet-vd-1.4B-100BT-hf", {
      cacheDir,
      offline: true,
      endpoint: "http://127.0.0.1:9",
    });
    assert.equal(p.dir, snap);
    const cli = spawnSync(process.execPath, [CLI, "info", "--model", snap, "--json"], { encoding: "utf8" });
    assert.equal(cli.status, 0, cli.stderr);
  });

  it("a missing model gives the how-to-fetch error, offline and with HF_HUB_OFFLINE=1 on the CLI", async () => {
    const cacheDir = dirs.fresh("missing");
    assert.throws(
      () => resolveModelRef("MonetLLM/monet-vd-850M-100BT-hf", { cacheDir }),
      /not in the Hugging Face cache .*`monet-lens pull MonetLLM\/monet-vd-850M-100BT-hf`/,
    );
    const seen = hub.requests.length;
    const cli = await runCli(
      ["pull", "MonetLLM/monet-vd-850M-100BT-hf"],
      cliEnv(cacheDir, { HF_HUB_OFFLINE: "1" }),
    );
    assert.equal(cli.status, 1);
    assert.match(
      cli.stderr,
      /not in the Hugging Face cache.*monet-lens pull MonetLLM\/monet-vd-850M-100BT-hf.*unset HF_HUB_OFFLINE/,
    );
    assert.equal(hub.requests.length, seen, "no request reached the Hub");
  });

  it("an incomplete snapshot says what is missing", () => {
    const cacheDir = dirs.fresh("partial");
    const commit = "a".repeat(40);
    const snap = pythonCache(cacheDir, "MonetLLM/partial", commit);
    spawnSync("rm", [join(snap, "model-00003-of-00006.safetensors")]);
    assert.throws(
      () => resolveModelRef("MonetLLM/partial", { cacheDir }),
      /lacks model-00003-of-00006\.safetensors.*monet-lens pull/,
    );
  });
});
