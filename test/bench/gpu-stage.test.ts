// The staging of the GPU check (scripts/gpu-stage.ts) and the device side of it
// (scripts/gpu-check.sh --receive/--device): parts fill each call up to the limit and never past
// it, and the calls played into a stand-in for the machine (MONET_GPU_TMP, no activation) give
// back every component byte for byte, or say which one is missing.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DIST_FILES,
  makeStage,
  measuredCallBytes,
  planCalls,
  sha256File,
  simulate,
  STAGE_DIR,
  treeBytes,
  writeStage,
  type Component,
} from "../../scripts/gpu-stage";

describe("planning the device calls", () => {
  const fixed = { tree: 1_600_000, kit: 38_000_000, dist: 800_000 };
  const limit = 64 * 2 ** 20;
  const reserve = 2 ** 20;
  const components = [
    { name: "fixtures", bytes: 1_400_000 },
    { name: "demo-model", bytes: 56_000_000 },
    { name: "cuda-runtime", bytes: 175_000_000 },
  ];

  it("fills every call up to the limit, never past it, with the kit first and the bundles last", () => {
    const calls = planCalls(components, fixed, limit, reserve);
    for (const c of calls) assert.ok(c.totalBytes <= limit - reserve, `call ${c.call}: ${c.totalBytes}`);
    assert.deepEqual(calls[0]!.carry.slice(0, 1), [".devicekit"]);
    assert.ok(calls.at(-1)!.last);
    for (const f of DIST_FILES) assert.ok(calls.at(-1)!.carry.includes(f));
    assert.ok(calls.slice(0, -1).every((c) => !c.carry.some((p) => p.startsWith("dist/"))));
    // Every call but the last is full: no call more than needed.
    for (const c of calls.slice(0, -1)) assert.ok(c.totalBytes > limit - reserve - 1);
    assert.equal(
      calls.length,
      Math.ceil((233_200_000 + fixed.kit + fixed.dist) / (limit - reserve - fixed.tree)),
    );
  });

  it("cuts each component into consecutive parts that cover it exactly once", () => {
    const calls = planCalls(components, fixed, limit, reserve);
    for (const comp of components) {
      const parts = calls.flatMap((c) => c.parts).filter((p) => p.component === comp.name);
      let offset = 0;
      parts.forEach((p, i) => {
        assert.equal(p.index, i);
        assert.equal(p.offset, offset);
        offset += p.bytes;
      });
      assert.equal(offset, comp.bytes);
    }
  });

  it("gives the bundles a call of their own when the last is full, and refuses a tree too big for any call", () => {
    const exact = planCalls(
      [{ name: "a", bytes: limit - reserve - fixed.tree - fixed.kit }],
      fixed,
      limit,
      reserve,
    );
    assert.equal(exact.length, 2);
    assert.equal(exact[1]!.parts.length, 0);
    assert.throws(() => planCalls(components, { ...fixed, tree: limit }, limit, reserve), /nothing fits/);
  });
});

describe("staged calls played into a stand-in machine", () => {
  let root: string;
  let where: string;
  const sources: Record<string, string> = {};
  let components: Array<Component & { bytes: number; sha256: string }>;
  const git = (...args: string[]) => execFileSync("git", ["-C", root, ...args], { encoding: "utf8" });

  before(() => {
    where = mkdtempSync(join(tmpdir(), "monet-gpu-stage-"));
    root = join(where, "repo");
    mkdirSync(join(root, "scripts"), { recursive: true });
    execFileSync("git", ["init", "-q", root]);
    cpSync(join(process.cwd(), "scripts", "gpu-check.sh"), join(root, "scripts", "gpu-check.sh"));
    writeFileSync(join(root, ".gitignore"), ".gpucheck/\n.devicekit/\ndist/\nbench/results/\n");
    writeFileSync(join(root, "README.md"), "a repo\n");
    git("add", ".");
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "x");
    mkdirSync(join(root, ".devicekit"));
    writeFileSync(join(root, ".devicekit", "activate.sh"), "echo activated\n");
    writeFileSync(join(root, ".devicekit", "node.xz"), randomBytes(300_000));
    mkdirSync(join(root, "dist"));
    for (const f of DIST_FILES) writeFileSync(join(root, f), "// bundle\n");
    // Three components like the real ones (tar.xz of random, incompressible files).
    const payload = join(root, STAGE_DIR, "payload");
    mkdirSync(payload, { recursive: true });
    components = [];
    for (const [name, target, size] of [
      ["fixtures", "tmp:fixtures", 200_000],
      ["demo-model", "repo:models", 900_000],
      ["cuda-runtime", "tmp:cuda-runtime", 1_500_000],
    ] as const) {
      const src = join(where, "src", name);
      mkdirSync(join(src, "inner"), { recursive: true });
      writeFileSync(join(src, "inner", "data.bin"), randomBytes(size));
      writeFileSync(join(src, "note.txt"), `${name}\n`);
      sources[name] = src;
      const file = join(payload, `${name}.tar.xz`);
      execFileSync("bash", ["-c", `tar -C "${src}" -cf - . | xz -0 > "${file}"`]);
      components.push({ name, file, target, bytes: statSync(file).size, sha256: sha256File(file) });
    }
  });
  after(() => rmSync(where, { recursive: true, force: true }));

  const stageWith = (limit: number) => {
    const fixed = {
      tree: treeBytes(root),
      kit: ["activate.sh", "node.xz"].reduce((n, f) => n + statSync(join(root, ".devicekit", f)).size, 0),
      dist: DIST_FILES.reduce((n, f) => n + statSync(join(root, f)).size, 0),
    };
    const meta = { commit: git("rev-parse", "HEAD").trim(), dirty: false, cuda: null };
    const stage = makeStage(components, fixed, meta, limit, 16_384);
    writeStage(root, stage, components);
    return stage;
  };

  it("every call stays under its limit, and the last call's assembly gives back every component exactly", () => {
    const limit = 1_000_000;
    const stage = stageWith(limit);
    assert.ok(stage.calls.length >= 3, `${stage.calls.length} calls`);
    for (const c of stage.calls) assert.ok(measuredCallBytes(root, c) <= limit, `call ${c.call}`);
    const device = join(where, "device");
    const tmp = join(where, "tmp");
    let log = "";
    const moved = simulate(root, device, tmp, (s) => (log += s));
    assert.equal(moved.length, stage.calls.length);
    for (const b of moved) assert.ok(b <= limit, `${b} bytes moved in one call`);
    assert.match(log, /cuda-runtime: \d+ of \d+ parts in/);
    assert.match(log, /simulated: assembled/);
    for (const c of components) {
      assert.equal(sha256File(join(tmp, "payload", `${c.name}.tar.xz`)), c.sha256);
      const dest = c.target.startsWith("tmp:")
        ? join(tmp, c.target.slice(4))
        : join(device, c.target.slice(5));
      assert.deepEqual(
        readFileSync(join(dest, "inner", "data.bin")),
        readFileSync(join(sources[c.name]!, "inner", "data.bin")),
      );
    }
    assert.ok(existsSync(join(tmp, "devicekit", "activate.sh")), "the kit is kept in /tmp for the last call");
  });

  it("a part that did not arrive skips its component and says so; the others still assemble", () => {
    const stage = stageWith(1_000_000);
    const victim = stage.calls
      .flatMap((c) => c.parts.map((p) => ({ call: c.call, p })))
      .find((x) => x.p.component === "cuda-runtime")!;
    rmSync(
      join(
        root,
        STAGE_DIR,
        `call${victim.call}`,
        `cuda-runtime.part${String(victim.p.index).padStart(3, "0")}`,
      ),
    );
    const tmp = join(where, "tmp-missing");
    let log = "";
    simulate(root, join(where, "device-missing"), tmp, (s) => (log += s));
    assert.match(log, /cuda-runtime: not all \d+ parts arrived; skipped/);
    assert.ok(!existsSync(join(tmp, "cuda-runtime")));
    assert.ok(existsSync(join(tmp, "fixtures", "note.txt")));
  });

  it("a damaged part is found by its checksum", () => {
    const stage = stageWith(1_000_000);
    const call = stage.calls.find((c) => c.parts.some((p) => p.component === "demo-model"))!;
    const part = call.parts.find((p) => p.component === "demo-model")!;
    const file = join(
      root,
      STAGE_DIR,
      `call${call.call}`,
      `demo-model.part${String(part.index).padStart(3, "0")}`,
    );
    const bytes = readFileSync(file);
    bytes[10] = bytes[10]! ^ 0xff;
    writeFileSync(file, bytes);
    let log = "";
    const tmp = join(where, "tmp-damaged");
    simulate(root, join(where, "device-damaged"), tmp, (s) => (log += s));
    assert.match(log, /demo-model\.part\d+ is damaged/);
    assert.ok(!existsSync(join(where, "device-damaged", "models", "note.txt")));
  });
});
