import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  budgetOrder,
  byLanguage,
  DEFAULT_SPLIT,
  readSource,
  scanCorpus,
  splitFiles,
} from "../../src/atlas/corpus";

function tree(files: Record<string, string | Uint8Array>): string {
  const root = mkdtempSync(join(tmpdir(), "atlas-corpus-"));
  for (const [rel, data] of Object.entries(files)) {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), data);
  }
  return root;
}

test("scanCorpus finds source files in path order and skips the rest with reasons", () => {
  const root = tree({
    "b/z.py": "print(1)\n",
    "a/y.py": "x = 1\n",
    "a/x.lua": "local x = 1\n",
    "a/h.h": "int f(void);\n",
    "a/empty.go": "",
    "a/blob.rs": new Uint8Array([1, 2, 0, 3]),
    "a/big.c": "x".repeat(2000),
    ".git/config.py": "hidden = 1\n",
    "notes.txt": "hello\n",
  });
  try {
    symlinkSync(join(root, "a", "y.py"), join(root, "link.py"));
    const scan = scanCorpus(root, { maxFileBytes: 1000 });
    assert.deepEqual(
      scan.files.map((f) => [f.rel, f.language]),
      [
        ["a/x.lua", "lua"],
        ["a/y.py", "python"],
        ["b/z.py", "python"],
      ],
    );
    const reasons = Object.fromEntries(scan.skipped.map((s) => [s.rel, s.reason]));
    assert.match(reasons["a/h.h"]!, /ambiguous/);
    assert.equal(reasons["a/empty.go"], "empty");
    assert.equal(reasons["a/blob.rs"], "binary");
    assert.match(reasons["a/big.c"]!, /larger than 1000/);
    assert.match(reasons["notes.txt"]!, /unknown extension/);
    assert.equal(reasons["link.py"], "symbolic link");
    assert.ok(!(".git/config.py" in reasons), "hidden folders are not walked");
    assert.deepEqual([...byLanguage(scan.files).keys()], ["lua", "python"]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("scanCorpus rejects a missing folder clearly", () => {
  assert.throws(() => scanCorpus("/nonexistent/corpus"), /does not exist/);
});

test("the split is deterministic, disjoint, and independent of input order", () => {
  const files = Array.from({ length: 23 }, (_, k) => ({
    path: `/c/${k}`,
    rel: `p/${String(k).padStart(4, "0")}.py`,
    language: "python",
    bytes: 1,
  }));
  const a = splitFiles(files, DEFAULT_SPLIT);
  const b = splitFiles([...files].reverse(), DEFAULT_SPLIT);
  assert.deepEqual(a, b);
  assert.equal(a.heldOut.length, 4); // files 4, 9, 14, 19
  assert.deepEqual(
    a.heldOut.map((f) => f.rel),
    ["p/0004.py", "p/0009.py", "p/0014.py", "p/0019.py"],
  );
  assert.equal(a.train.length + a.heldOut.length, files.length);
  const held = new Set(a.heldOut.map((f) => f.rel));
  assert.ok(a.train.every((f) => !held.has(f.rel)));
  assert.throws(
    () => splitFiles(files, { method: "every-kth-file-by-path", every: 1, offset: 0 }),
    /unsupported split/,
  );
  // The budget order depends on paths only.
  assert.deepEqual(
    budgetOrder(a.train).map((f) => f.rel),
    budgetOrder([...a.train].reverse()).map((f) => f.rel),
  );
  assert.notDeepEqual(
    budgetOrder(a.train).map((f) => f.rel),
    a.train.map((f) => f.rel),
    "not simply path order",
  );
});

test("readSource rejects invalid UTF-8 and hashes content", () => {
  const root = tree({ "a.py": "x = 'é'\n", "b.py": new Uint8Array([0x78, 0xff, 0x0a]), "c.py": "x = 'é'\n" });
  try {
    const f = (rel: string) => ({ path: join(root, rel), rel, language: "python", bytes: 0 });
    const a = readSource(f("a.py"))!;
    assert.equal(a.text, "x = 'é'\n");
    assert.match(a.hash, /^[0-9a-f]{16}$/);
    assert.equal(readSource(f("c.py"))!.hash, a.hash, "same content, same hash");
    assert.equal(readSource(f("b.py")), null);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
