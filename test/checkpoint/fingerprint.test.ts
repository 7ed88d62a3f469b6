// Identity by full content: converted models and atlases are keyed by Checkpoint.fingerprint(),
// which hashes every byte of every shard (free for Hugging Face cache blobs, remembered by path,
// size and mtime otherwise).
import assert from "node:assert/strict";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeSync,
  closeSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createHash } from "node:crypto";
import { Checkpoint } from "../../src/checkpoint/checkpoint";
import { SafetensorsFile } from "../../src/checkpoint/safetensors";
import { contentSha256, type HashSource } from "../../src/checkpoint/content-hash";
import { DEMO_MODEL } from "../helpers/fixtures";

const tmp = mkdtempSync(join(tmpdir(), "monet-fingerprint-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const hashes = join(tmp, "content-hashes.json");

async function fingerprint(dir: string): Promise<{ fp: string; sources: HashSource[] }> {
  const sources: HashSource[] = [];
  const ck = await Checkpoint.open(dir);
  try {
    const fp = await ck.fingerprint({ cacheFile: hashes, onShardHash: (_, s) => sources.push(s) });
    return { fp, sources };
  } finally {
    await ck.close();
  }
}

test("866 KB changed between the blocks the old fingerprint sampled gives another fingerprint", async () => {
  const copy = join(tmp, "edited");
  cpSync(DEMO_MODEL, copy, { recursive: true });
  const before = await fingerprint(copy);
  assert.deepEqual(before.sources, Array(6).fill("computed"));

  // The old key read 16 evenly spaced 64 KiB blocks per shard; put 866,000 changed bytes in the
  // middle of the gap between two of them, inside one layer's tensor.
  const shard = join(copy, "model-00003-of-00006.safetensors");
  const st = await SafetensorsFile.open(shard);
  const data = st.size - st.dataStart;
  await st.close();
  const step = (data - 65536) / 15;
  const gapStart = st.dataStart + Math.floor(7 * step) + 65536;
  const gapEnd = st.dataStart + Math.floor(8 * step);
  assert.ok(gapEnd - gapStart > 866_000, `gap ${gapEnd - gapStart}`);
  const at = gapStart + Math.floor((gapEnd - gapStart - 866_000) / 2);
  const fd = openSync(shard, "r+");
  writeSync(fd, Buffer.alloc(866_000, 0x3f), 0, 866_000, at);
  closeSync(fd);

  const afterEdit = await fingerprint(copy);
  assert.notEqual(afterEdit.fp, before.fp);
  assert.deepEqual(afterEdit.sources, [
    "remembered",
    "remembered",
    "computed",
    "remembered",
    "remembered",
    "remembered",
  ]);
});

test("a second open does not hash again; a copy elsewhere has the same fingerprint", async () => {
  const first = await fingerprint(DEMO_MODEL);
  const again = await fingerprint(DEMO_MODEL);
  assert.equal(again.fp, first.fp);
  assert.deepEqual(again.sources, Array(6).fill("remembered"));
  const copy = join(tmp, "copy");
  cpSync(DEMO_MODEL, copy, { recursive: true });
  assert.equal((await fingerprint(copy)).fp, first.fp);
});

test("shards that are blobs of a Hugging Face cache are not read: the blob name is their sha256", async () => {
  const root = join(tmp, "hf", "models--MonetLLM--demo");
  const snap = join(root, "snapshots", "c".repeat(40));
  mkdirSync(join(root, "blobs"), { recursive: true });
  mkdirSync(snap, { recursive: true });
  for (const name of ["config.json", "model.safetensors.index.json", "tokenizer.model"])
    cpSync(join(DEMO_MODEL, name), join(snap, name));
  for (let i = 1; i <= 6; i++) {
    const name = `model-0000${i}-of-00006.safetensors`;
    const sha = createHash("sha256")
      .update(readFileSync(join(DEMO_MODEL, name)))
      .digest("hex");
    cpSync(join(DEMO_MODEL, name), join(root, "blobs", sha));
    symlinkSync(`../../blobs/${sha}`, join(snap, name));
  }
  const { fp, sources } = await fingerprint(snap);
  assert.deepEqual(sources, Array(6).fill("hf-blob"));
  assert.equal(fp, (await fingerprint(DEMO_MODEL)).fp, "same content, same key");
});

test("the remembered hash is dropped when the file's size or mtime changes", async () => {
  const f = join(tmp, "file.bin");
  cpSync(join(DEMO_MODEL, "tokenizer.model"), f);
  const a = await contentSha256(f, { cacheFile: hashes });
  assert.equal(a.source, "computed");
  assert.equal((await contentSha256(f, { cacheFile: hashes })).source, "remembered");
  const fd = openSync(f, "r+");
  writeSync(fd, Buffer.from([1]), 0, 1, 100);
  closeSync(fd);
  const b = await contentSha256(f, { cacheFile: hashes });
  assert.equal(b.source, "computed");
  assert.notEqual(b.sha256, a.sha256);
  assert.ok(statSync(hashes).size > 0);
});
