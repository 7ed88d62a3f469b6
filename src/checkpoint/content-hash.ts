// The sha256 of a weights file's full content, as cheaply as it can be known:
// - a blob of a Hugging Face cache (`…/models--org--name/blobs/<sha256>`, what snapshot links
//   point to) is named by its sha256, which pull checked when it fetched it: free;
// - else the hash computed once and remembered by (real path, size, mtime) in a small JSON file
//   beside the converted models (`$MONET_LENS_CACHE` or `~/.cache/monet-lens`), so a second
//   open costs a stat, not a read of gigabytes.
import { createHash } from "node:crypto";
import { createReadStream, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { writeFileAtomic } from "../files/atomic-write";
import { defaultCacheRoot } from "../files/cache-root";

export type HashSource = "hf-blob" | "remembered" | "computed";

export interface ContentHash {
  sha256: string;
  source: HashSource;
}

export interface ContentHashOptions {
  /** The remembered hashes (default: `content-hashes.json` under the Monet Lens cache). */
  cacheFile?: string;
}

/** The remembered hashes of a cache folder (engine/model-store.ts passes its own). */
export const hashCacheFileIn = (cacheDir: string): string => join(cacheDir, "content-hashes.json");

export const defaultHashCacheFile = (): string => hashCacheFileIn(defaultCacheRoot());

interface Remembered {
  size: number;
  mtimeMs: number;
  sha256: string;
}

interface HashCacheFile {
  format: "monet-lens-content-hashes";
  version: 1;
  files: Record<string, Remembered>;
}

/** `path` (after symlinks) is a blob of a Hugging Face cache named by its sha256. */
function hfBlobSha256(real: string): string | undefined {
  const name = basename(real);
  const blobs = dirname(real);
  if (!/^[0-9a-f]{64}$/.test(name) || basename(blobs) !== "blobs") return undefined;
  return basename(dirname(blobs)).startsWith("models--") ? name : undefined;
}

function readCache(file: string): HashCacheFile {
  try {
    const json = JSON.parse(readFileSync(file, "utf8")) as HashCacheFile;
    if (json.format === "monet-lens-content-hashes" && json.version === 1 && typeof json.files === "object")
      return json;
  } catch {
    // absent or damaged: start over (it is only a cache)
  }
  return { format: "monet-lens-content-hashes", version: 1, files: {} };
}

async function sha256OfFile(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** The sha256 of `path`'s content: from an HF blob name, the remembered hashes, or a full read. */
export async function contentSha256(path: string, opts: ContentHashOptions = {}): Promise<ContentHash> {
  const real = realpathSync(path);
  const blob = hfBlobSha256(real);
  if (blob) return { sha256: blob, source: "hf-blob" };
  const cacheFile = opts.cacheFile ?? defaultHashCacheFile();
  const st = statSync(real);
  const known = readCache(cacheFile).files[real];
  if (known && known.size === st.size && known.mtimeMs === st.mtimeMs)
    return { sha256: known.sha256, source: "remembered" };
  const sha256 = await sha256OfFile(real);
  remember(cacheFile, real, { size: st.size, mtimeMs: st.mtimeMs, sha256 });
  return { sha256, source: "computed" };
}

/** Adds one entry (re-reading the file first, so concurrent writers rarely lose one). Best effort. */
function remember(cacheFile: string, real: string, entry: Remembered): void {
  const cache = readCache(cacheFile);
  cache.files[real] = entry;
  try {
    writeFileAtomic(cacheFile, `${JSON.stringify(cache, null, 1)}\n`, writeFileSync);
  } catch {
    // A read-only or full cache folder only costs a re-hash next time.
  }
}
