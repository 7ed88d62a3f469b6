// Faults users hit, tried for real: the engine process killed mid-generation (restart,
// a note, no zombies), an unload racing a new request, a GPU provider that fails at
// session creation or at run time (fall back, say so), a full or read-only disk while a
// converted model or an atlas is written (a clear error, nothing half-written taken for
// good, temporary files removed), a conversion killed half-way, and two windows sharing
// one cache folder.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import fs from "node:fs";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "../../src/engine/ort";
import { Checkpoint } from "../../src/checkpoint/checkpoint";
import { EngineClient, type ClientOptions } from "../../src/engine/engine-client";
import { EngineCrashedError } from "../../src/engine/errors";
import { Engine } from "../../src/engine/engine";
import { ensureConverted } from "../../src/engine/model-store";
import type { SessionFactory } from "../../src/engine/session";
import { readAtlasFile, writeAtlasFile } from "../../src/atlas/atlas-file";
import { readConverted } from "../../src/model/convert";
import { EngineHost } from "../../src/app/engine-host";
import { Ctx } from "../../src/app/ctx";
import { FakeMemento, FakeUi } from "../helpers/fakes";
import { DEMO_ENGINE_SETTINGS, DEMO_MODEL, FIXTURES, TEST_CACHE } from "../helpers/fixtures";
import { alive, children, deadPid, hasProc, until } from "../helpers/processes";
import { mountTmpfs, remountReadOnly, scratchDirs, unmount } from "./helpers";

const { fresh } = scratchDirs("reliability-faults-");
const leftovers = (cacheDir: string) =>
  existsSync(join(cacheDir, "converted"))
    ? readdirSync(join(cacheDir, "converted")).filter((x) => x.includes(".tmp-") || x.endsWith(".lock"))
    : [];

describe("the engine process killed mid-generation", () => {
  it("fails that request, leaves no zombie, restarts on the next request, and the user gets a short note", {
    skip: !hasProc && "needs /proc",
  }, async () => {
    class NotingUi extends FakeUi {
      readonly notes: string[] = [];
      note(m: string): void {
        this.notes.push(m);
      }
    }
    const ui = new NotingUi();
    const clients: EngineClient[] = [];
    const logs: string[] = [];
    const ctx = new Ctx({
      ui,
      log: { info: (l) => logs.push(l), warn: (l) => logs.push(l), error: (l) => logs.push(l) },
      settings: () => (key) =>
        ({ modelPath: DEMO_MODEL, executionProvider: "cpu", idleUnloadMinutes: 0 })[key as string],
      enableFor: () => true,
      workspaceState: new FakeMemento(),
      storageDir: fresh("storage"),
      engine: {
        cacheDir: TEST_CACHE,
        createClient: (o: ClientOptions) => {
          const c = new EngineClient(o);
          clients.push(c);
          return c;
        },
      },
      shippedAtlasDir: null,
    });
    try {
      await ctx.host.generate({ prompt: "x = ", maxTokens: 2 });
      for (let round = 0; round < 3; round++) {
        const pid = clients[0]!.pid!;
        await assert.rejects(
          ctx.host.generate(
            { prompt: "def main():\n", maxTokens: 300, ignoreEos: true },
            { onText: () => clients[0]!.kill() },
          ),
          EngineCrashedError,
        );
        assert.ok(!alive(pid), "the killed engine process is gone");
        assert.deepEqual(children().defunct, [], "no defunct (zombie) child processes");
        assert.equal(ui.notes.length, round + 1, "one short note per crash");
        const r = await ctx.host.generate({ prompt: "y = ", maxTokens: 3 });
        assert.ok(r.ids.length > 0, "the next request restarted the engine and was served");
        assert.notEqual(clients[0]!.pid, pid);
      }
      assert.match(ui.notes[0]!, /engine stopped unexpectedly; it restarts/);
      assert.equal(
        ui.messages.filter((m) => m.kind === "error").length,
        0,
        "a restartable crash is a note, not an error dialog",
      );
    } finally {
      await ctx.dispose();
    }
    assert.deepEqual(
      children().all.filter((p) => clients.some((c) => c.pid === p)),
      [],
      "no engine process left after dispose",
    );
    assert.deepEqual(children().defunct, []);
  });

  it("an unload racing a new request: the request is served by a new process (no spurious failure)", async () => {
    const client = new EngineClient({ modelDir: DEMO_MODEL, ep: "cpu", cacheDir: TEST_CACHE });
    try {
      await client.generate({ prompt: "a = ", maxTokens: 2 });
      const first = client.pid!;
      const unloading = client.unload();
      const served = client.generate({ prompt: "b = ", maxTokens: 2 });
      await unloading;
      assert.ok((await served).ids.length > 0);
      assert.ok(!alive(first));
      assert.notEqual(client.pid, undefined, "the new process runs");
    } finally {
      await client.close();
    }
  });

  it("the idle unload racing a request in the host: the state stays right and the next idle time unloads again", async () => {
    const logs: string[] = [];
    const host = new EngineHost({
      settings: DEMO_ENGINE_SETTINGS,
      log: (l) => logs.push(l),
      cacheDir: TEST_CACHE,
    });
    try {
      await host.generate({ prompt: "c = ", maxTokens: 2 });
      const unloading = host.unload(); // what the idle timer calls
      const served = host.generate({ prompt: "d = ", maxTokens: 2 });
      await unloading;
      assert.ok((await served).ids.length > 0, "the request that raced the unload was served");
      assert.equal(host.state.kind, "ready", "the engine that serves is not reported as unloaded");
      await host.configure({ ...DEMO_ENGINE_SETTINGS, idleUnloadMs: 200 });
      await until("the idle unload", () => host.state.kind === "unloaded");
    } finally {
      await host.dispose();
    }
  });

  it("a model that cannot open leaves no engine process behind, however often it is retried", async () => {
    const bad = fresh("no-tokenizer");
    for (const f of readdirSync(join(FIXTURES, "random-vd")))
      if (f !== "expected.safetensors") fs.copyFileSync(join(FIXTURES, "random-vd", f), join(bad, f));
    const client = new EngineClient({ modelDir: bad, ep: "cpu", cacheDir: TEST_CACHE });
    const before = children().all.length;
    for (let i = 0; i < 3; i++) await assert.rejects(client.start(), /tokenizer\.model/);
    await until("the failed engine processes to end", () => children().all.length <= before, 5000);
    assert.deepEqual(children().defunct, []);
    await client.close();
  });
});

describe("a GPU provider that fails", () => {
  const gpuProbes = [
    { name: "cuda" as const, available: true, reason: "test: pretends to be there" },
    { name: "cpu" as const, available: true, reason: "" },
  ];

  it("at session creation: the engine falls back to the CPU and says why", async () => {
    const logs: string[] = [];
    const create: SessionFactory = async (path, options) => {
      if (options.executionProviders?.includes("cuda")) {
        // onnxruntime-node rejects a present-but-undefined thread count for every provider.
        assert.ok(!("intraOpNumThreads" in options), "GPU sessions get no intraOpNumThreads key");
        throw new Error("CUDA failure 100: no CUDA-capable device is detected\nstack…");
      }
      return ort.InferenceSession.create(path, options);
    };
    const engine = await Engine.open({
      modelDir: DEMO_MODEL,
      ep: "auto",
      dtype: "float32",
      cacheDir: TEST_CACHE,
      log: (l) => logs.push(l),
      sessions: { create, probes: gpuProbes },
    });
    try {
      assert.equal(engine.ep, "cpu");
      assert.deepEqual(engine.fallbacks, [
        "cuda: session creation failed: CUDA failure 100: no CUDA-capable device is detected",
      ]);
      assert.ok(
        logs.some((l) =>
          /execution provider skipped: cuda: session creation failed: CUDA failure 100/.test(l),
        ),
        "the log says so",
      );
      assert.ok((await engine.generate("x = ", { maxTokens: 3 })).ids.length > 0);
    } finally {
      await engine.close();
    }
    // Asked for CUDA explicitly: the same fallback, and every provider failing is one clear error.
    const failAll: SessionFactory = async () => {
      throw new Error("the device was lost"); // (running out of memory has its own message: hostile-files.test.ts)
    };
    await assert.rejects(
      Engine.open({
        modelDir: DEMO_MODEL,
        ep: "cuda",
        dtype: "float32",
        cacheDir: TEST_CACHE,
        sessions: { create: failAll, probes: gpuProbes },
      }),
      /no execution provider could open .*model\.onnx:\n {2}cuda: session creation failed: the device was lost\n {2}cpu: session creation failed: the device was lost/,
    );
  });

  it("at run time: the engine reopens on the CPU, retries, says so, and gives the CPU's answer", async () => {
    const logs: string[] = [];
    let gpuRuns = 0;
    const create: SessionFactory = async (path, options) => {
      if (!options.executionProviders?.includes("cuda")) return ort.InferenceSession.create(path, options);
      const real = await ort.InferenceSession.create(path, { ...options, executionProviders: ["cpu"] });
      return new Proxy(real, {
        get(target, key) {
          if (key === "run") {
            return async () => {
              gpuRuns++;
              throw new Error("CUDA error: an illegal memory access was encountered");
            };
          }
          const v = Reflect.get(target, key) as unknown;
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    };
    const engine = await Engine.open({
      modelDir: DEMO_MODEL,
      ep: "auto",
      dtype: "float32",
      cacheDir: TEST_CACHE,
      log: (l) => logs.push(l),
      sessions: { create, probes: gpuProbes },
    });
    const plain = await Engine.open({
      modelDir: DEMO_MODEL,
      ep: "cpu",
      dtype: "float32",
      cacheDir: TEST_CACHE,
    });
    try {
      assert.equal(engine.ep, "cuda", engine.fallbacks.join("; "));
      const prompt = "def add(a, b):\n";
      const r = await engine.generate(prompt, { maxTokens: 12 });
      assert.equal(gpuRuns, 1, "the failing provider was tried once");
      assert.equal(engine.ep, "cpu");
      assert.ok(
        engine.fallbacks.some((f) =>
          /^cuda: failed at run time: CUDA error: an illegal memory access/.test(f),
        ),
      );
      assert.ok(
        logs.some((l) => /execution provider cuda: failed at run time: .*falling back to cpu/.test(l)),
        "the log says so",
      );
      assert.deepEqual(
        r.ids,
        (await plain.generate(prompt, { maxTokens: 12 })).ids,
        "the same continuation as on the CPU from the start",
      );
      assert.ok((await engine.generate("y = ", { maxTokens: 2 })).ids.length > 0, "and it goes on serving");
    } finally {
      await engine.close();
      await plain.close();
    }
  });
});

describe("a full or read-only disk", () => {
  const ENOSPC = () => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
  const EROFS = (p: string) =>
    Object.assign(new Error(`EROFS: read-only file system, mkdir '${p}'`), { code: "EROFS" });

  it("while a converted model is written: a clear error, no partial model, no temporary files; it converts once space is back", async (t) => {
    const cacheDir = fresh("enospc");
    const ckpt = await Checkpoint.open(DEMO_MODEL);
    try {
      // The disk fills up after 20 MB of weights.
      const ours = new Set<number>();
      let written = 0;
      const realOpen = fs.openSync;
      const realWrite = fs.writeSync;
      t.mock.method(fs, "openSync", (p: fs.PathLike, ...rest: unknown[]) => {
        const fd = (realOpen as (...a: unknown[]) => number)(p, ...rest);
        if (String(p).startsWith(cacheDir)) ours.add(fd);
        return fd;
      });
      t.mock.method(fs, "writeSync", (fd: number, ...rest: unknown[]) => {
        if (ours.has(fd)) {
          const buf = rest[0] as Uint8Array | string;
          const len =
            typeof buf === "string"
              ? Buffer.byteLength(buf)
              : typeof rest[2] === "number"
                ? rest[2]
                : buf.byteLength;
          if (written + len > 20e6) throw ENOSPC();
          written += len;
        }
        return (realWrite as (...a: unknown[]) => number)(fd, ...rest);
      });
      await assert.rejects(ensureConverted(ckpt, { cacheDir }), (e: Error) => {
        assert.match(
          e.message,
          new RegExp(
            `^cannot write ${join(cacheDir, "converted").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: the disk is full \\(ENOSPC\\) while converting .*tiny-codemonet to ONNX; free some space`,
          ),
        );
        return true;
      });
      assert.ok(written > 1e6, "the conversion had written weights when the disk filled up");
      assert.deepEqual(
        readdirSync(join(cacheDir, "converted")),
        [],
        "no partial model, temporary folder or lock is left",
      );
      t.mock.restoreAll();
      const ok = await ensureConverted(ckpt, { cacheDir });
      assert.equal(ok.converted, true);
      assert.ok(readConverted(ok.dir, { fingerprint: ok.manifest.fingerprint, dtype: "float32" }));
    } finally {
      await ckpt.close();
    }
  });

  it("a read-only cache folder: the error names the folder and what to do", async (t) => {
    const cacheDir = fresh("erofs");
    const ckpt = await Checkpoint.open(DEMO_MODEL);
    try {
      const realMkdir = fs.mkdirSync;
      t.mock.method(fs, "mkdirSync", (p: fs.PathLike, ...rest: unknown[]) => {
        if (String(p).startsWith(cacheDir)) throw EROFS(String(p));
        return (realMkdir as (...a: unknown[]) => unknown)(p, ...rest);
      });
      await assert.rejects(
        ensureConverted(ckpt, { cacheDir }),
        /^Error: cannot write .*erofs\/converted: the file system is read-only \(EROFS\) while converting .* make the folder writable \(or set MONET_LENS_CACHE to another folder\)/,
      );
    } finally {
      await ckpt.close();
    }
  });

  it("an atlas written onto a full disk: the old atlas stays whole, no temporary file, the error names the atlas", () => {
    const dir = fresh("atlas-enospc");
    const path = join(dir, "demo.atlas.json");
    const shipped = join(process.cwd(), "models", "atlases");
    const source = readdirSync(shipped).find((f) => f.endsWith(".atlas.json"))!;
    const atlas = readAtlasFile(join(shipped, source));
    writeAtlasFile(path, atlas);
    const before = readFileSync(path, "utf8");
    const failing = (p: string, data: string | Uint8Array) => {
      writeFileSync(p, String(data).slice(0, 1000));
      throw ENOSPC();
    };
    assert.throws(
      () => writeAtlasFile(path, { ...atlas, createdAt: "later" }, failing),
      (e: Error) =>
        e.message.startsWith(`cannot write ${path}: the disk is full (ENOSPC)`) &&
        /previous file, if any, is unchanged/.test(e.message),
    );
    assert.equal(readFileSync(path, "utf8"), before);
    assert.deepEqual(readdirSync(dir), ["demo.atlas.json"]);
  });

  it("a real full disk and a real read-only disk (small tmpfs)", async (t) => {
    const mnt = fresh("tmpfs");
    if (!mountTmpfs(mnt, "8m"))
      return t.skip("mounting a tmpfs is not permitted here (the injected failures above cover it)");
    const ckpt = await Checkpoint.open(DEMO_MODEL);
    try {
      await assert.rejects(
        ensureConverted(ckpt, { cacheDir: mnt }),
        /cannot write .*: the disk is full \(ENOSPC\)/,
      );
      assert.deepEqual(
        readdirSync(join(mnt, "converted")),
        [],
        "the full disk holds no partial model or temporary folder",
      );
      const atlas = readAtlasFile(
        join(
          process.cwd(),
          "models",
          "atlases",
          readdirSync(join(process.cwd(), "models", "atlases")).find((f) => f.endsWith(".atlas.json"))!,
        ),
      );
      writeAtlasFile(join(mnt, "a.atlas.json"), atlas);
      assert.ok(remountReadOnly(mnt));
      await assert.rejects(
        ensureConverted(ckpt, { cacheDir: mnt }),
        /cannot write .*: the file system is read-only \(EROFS\)/,
      );
      assert.throws(
        () => writeAtlasFile(join(mnt, "a.atlas.json"), atlas),
        /cannot write .*a\.atlas\.json: the file system is read-only \(EROFS\)/,
      );
    } finally {
      unmount(mnt);
      await ckpt.close();
    }
  });
});

describe("interrupted conversions and shared cache folders", () => {
  it("a conversion killed half-way leaves a temporary folder that is never used and is removed by the next conversion", async () => {
    const cacheDir = fresh("killed");
    let reports = 0;
    const client: EngineClient = new EngineClient({
      modelDir: DEMO_MODEL,
      ep: "cpu",
      cacheDir,
      onProgress: () => ++reports === 3 && client.kill(),
    });
    await assert.rejects(client.start(), EngineCrashedError);
    const left = leftovers(cacheDir);
    assert.equal(
      left.filter((x) => x.includes(".tmp-")).length,
      1,
      "the killed process left its temporary folder",
    );
    assert.equal(left.filter((x) => x.endsWith(".lock")).length, 1, "and its lock");
    const logs: string[] = [];
    const second = new EngineClient({ modelDir: DEMO_MODEL, ep: "cpu", cacheDir, log: (l) => logs.push(l) });
    try {
      assert.ok((await second.generate({ prompt: "x = ", maxTokens: 2 })).ids.length > 0);
      assert.deepEqual(leftovers(cacheDir), [], "the dead process's temporary folder and lock are gone");
      assert.ok(logs.some((l) => /removed .*\.tmp-\d+-\d+, left by an interrupted conversion/.test(l)));
      assert.ok(
        logs.some((l) => /converting .* to ONNX/.test(l)),
        "the model was converted afresh, not taken from the partial folder",
      );
    } finally {
      await second.close();
      await client.close();
    }
  });

  it("a temporary folder of a live process is left alone", async () => {
    const cacheDir = fresh("live-tmp");
    const ckpt = await Checkpoint.open(join(FIXTURES, "random-vd"));
    try {
      const first = await ensureConverted(ckpt, { cacheDir });
      rmSync(first.dir, { recursive: true });
      const liveTmp = `${first.dir}.tmp-${process.ppid}-1`;
      const deadTmp = `${first.dir}.tmp-${deadPid()}-1`;
      mkdirSync(liveTmp);
      mkdirSync(deadTmp);
      await ensureConverted(ckpt, { cacheDir });
      assert.ok(existsSync(liveTmp), "another running process's conversion is not touched");
      assert.ok(!existsSync(deadTmp));
    } finally {
      await ckpt.close();
    }
  });

  it("two windows starting on one empty cache folder at once: one converts, both run the same model, nothing is left over", async () => {
    const cacheDir = fresh("two-windows");
    const logs: string[][] = [[], []];
    const clients = logs.map(
      (l) => new EngineClient({ modelDir: DEMO_MODEL, ep: "cpu", cacheDir, log: (x) => l.push(x) }),
    );
    try {
      const infos = await Promise.all(clients.map((c) => c.start()));
      assert.notEqual(clients[0]!.pid, clients[1]!.pid, "two engine processes");
      assert.equal(infos[0]!.convertedDir, infos[1]!.convertedDir);
      const converting = logs.map((l) => l.filter((x) => /^converting .* to ONNX/.test(x)).length);
      assert.deepEqual(converting.sort(), [0, 1], "exactly one of them converted");
      const prompt = "import os\n\ndef list_files(path):\n";
      const [a, b] = await Promise.all(clients.map((c) => c.generate({ prompt, maxTokens: 16 })));
      assert.deepEqual(a!.ids, b!.ids);
      assert.deepEqual(leftovers(cacheDir), []);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it("two processes writing the same atlas file over and over: a reader never sees a partial file", async () => {
    const dir = fresh("atlas-race");
    const target = join(dir, "shared.atlas.json");
    const shipped = join(process.cwd(), "models", "atlases");
    const source = join(shipped, readdirSync(shipped).find((f) => f.endsWith(".atlas.json"))!);
    writeAtlasFile(target, readAtlasFile(source));
    const writer = join(dir, "writer.ts");
    writeFileSync(
      writer,
      `import { readAtlasFile, writeAtlasFile } from ${JSON.stringify(join(process.cwd(), "src", "atlas", "atlas-file.ts"))};
const atlas = readAtlasFile(${JSON.stringify(source)});
for (let i = 0; i < 40; i++) writeAtlasFile(${JSON.stringify(target)}, { ...atlas, createdAt: process.pid + "-" + i });
process.send?.("done");
`,
    );
    const procs = [0, 1].map(() => fork(writer, [], { execArgv: ["--import", "tsx"], stdio: "ignore" }));
    const done = procs.map((p) => new Promise<number | null>((r) => p.on("exit", (code) => r(code))));
    let reads = 0;
    let finished = false;
    void Promise.all(done).then(() => (finished = true));
    while (!finished) {
      const a = readAtlasFile(target); // throws on a partial or mixed file
      assert.ok(a.languages.length > 0);
      reads++;
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(await Promise.all(done), [0, 0]);
    assert.ok(reads > 5, `read ${reads} times while the writers ran`);
    assert.match(readAtlasFile(target).createdAt, /^\d+-39$/);
    assert.deepEqual(readdirSync(dir).sort(), ["shared.atlas.json", "writer.ts"], "no temporary files left");
  });
});
