// Downloads one file into `blobs/<etag>.incomplete`, resuming with an HTTP Range request from
// the bytes already there, hashing as it writes; the caller verifies the hash and renames the
// file into place. This is the part `@huggingface/hub` lacks: its downloadFileToCacheDir
// streams the whole file in one request with no Range resume, no progress, no cancellation
// and no checksum check (node_modules/@huggingface/hub/src/lib/download-file-to-cache-dir.ts).
//
// Resuming across runs follows Python's huggingface_hub up to 0.2x (a shared
// `<etag>.incomplete`, `Range: bytes=<size>-`); its newer releases use a per-process temporary
// name and start over after a kill. Two pulls never write one `.incomplete` at once here:
// the caller holds the blob's lock (blob-lock.ts).
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, stat, truncate } from "node:fs/promises";
import { describeWriteFailure } from "../files/atomic-write";
import { HubError } from "./errors";

/** sha256 of the content (LFS files), or git's blob sha1 (`blob <size>\0<content>`, small files). */
export type ContentCheck = { kind: "sha256"; expected: string } | { kind: "git-sha1"; expected: string };

export interface BlobDownload {
  url: string;
  /** Sent only to the Hub's own origin (never to a CDN a redirect leads to). */
  headers: Record<string, string>;
  incomplete: string;
  size: number;
  check: ContentCheck;
  signal?: AbortSignal;
  /** New bytes written (resumed bytes are reported once, at the start, with resumed=true). */
  onBytes: (n: number, resumed: boolean) => void;
  /** Attempts in a row that bring no new byte before giving up (default 5). */
  retries?: number;
  fetch?: typeof fetch;
  log?: (line: string) => void;
}

/** An HTTP status that retrying cannot fix. */
class PermanentHttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

function newHasher(check: ContentCheck, size: number): Hash {
  if (check.kind === "sha256") return createHash("sha256");
  return createHash("sha1").update(`blob ${size}\0`);
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function hashExisting(path: string, bytes: number, hasher: Hash): Promise<void> {
  if (bytes === 0) return;
  for await (const chunk of createReadStream(path, { start: 0, end: bytes - 1 }))
    hasher.update(chunk as Buffer);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

/** Downloads until `incomplete` holds `size` bytes; returns the content's hex digest. */
export async function downloadBlob(d: BlobDownload): Promise<string> {
  const doFetch = d.fetch ?? fetch;
  const retries = d.retries ?? 5;
  let have = await fileSize(d.incomplete);
  if (have > d.size) {
    await truncate(d.incomplete, 0);
    have = 0;
  }
  let hasher = newHasher(d.check, d.size);
  await hashExisting(d.incomplete, have, hasher);
  if (have > 0) d.onBytes(have, true);

  let fruitless = 0;
  while (have < d.size) {
    if (d.signal?.aborted) throw cancelled(have, d.size);
    const before = have;
    try {
      const res = await doFetch(d.url, {
        headers: { ...d.headers, ...(have > 0 ? { Range: `bytes=${have}-` } : {}) },
        signal: d.signal,
        redirect: "follow",
      });
      if (res.status === 401 || res.status === 403 || res.status === 404 || res.status === 410)
        throw new PermanentHttpError(res.status);
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      if (have > 0 && res.status !== 206) {
        // The server ignored the Range header: start over rather than append a second copy.
        await res.body.cancel();
        await truncate(d.incomplete, 0);
        have = 0;
        hasher = newHasher(d.check, d.size);
        d.log?.(`the server ignored the resume request for ${d.url}; starting the file over`);
        continue;
      }
      const file = await open(d.incomplete, "a");
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          if (have + chunk.byteLength > d.size)
            throw new Error("the server sent more bytes than the file has");
          await writeAll(file, chunk, d.incomplete, have, d.size);
          hasher.update(chunk);
          have += chunk.byteLength;
          d.onBytes(chunk.byteLength, false);
        }
      } finally {
        await file.close();
      }
      if (have < d.size) throw new Error("the connection closed before the end of the file");
    } catch (e) {
      if (d.signal?.aborted) throw cancelled(have, d.size);
      if (e instanceof HubError) throw e;
      if (e instanceof PermanentHttpError) throw e;
      fruitless = have > before ? 1 : fruitless + 1;
      if (fruitless > retries)
        throw new HubError(
          `the download of ${d.url} keeps failing (${(e as Error).message}); ${have.toLocaleString("en-US")} of ${d.size.toLocaleString("en-US")} bytes are kept: run the same command again to resume`,
          "network",
          { cause: e },
        );
      d.log?.(`connection lost at byte ${have} (${(e as Error).message}); resuming`);
      await sleep(Math.min(8000, 250 * 2 ** (fruitless - 1)), d.signal);
    }
  }
  return hasher.digest("hex");
}

async function writeAll(
  file: Awaited<ReturnType<typeof open>>,
  chunk: Uint8Array,
  path: string,
  have: number,
  size: number,
): Promise<void> {
  try {
    for (let off = 0; off < chunk.byteLength; ) {
      const { bytesWritten } = await file.write(chunk, off, chunk.byteLength - off);
      off += bytesWritten;
    }
  } catch (e) {
    const line = describeWriteFailure(path, e);
    if (!line) throw e;
    throw new HubError(
      `${line}; free ${(size - have).toLocaleString("en-US")} bytes (or set HF_HUB_CACHE to another disk) and run the same command again to resume`,
      "disk-space",
      { cause: e },
    );
  }
}

function cancelled(have: number, size: number): HubError {
  return new HubError(
    `download cancelled; ${have.toLocaleString("en-US")} of ${size.toLocaleString("en-US")} bytes of the current file are kept: run the same command again to resume`,
    "cancelled",
  );
}

export { PermanentHttpError };
