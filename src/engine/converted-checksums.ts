// The checksums of a converted model's files (model.onnx, model.onnx.data), so that a
// conversion damaged on disk is rebuilt instead of giving garbage on every run. After a
// conversion the store records each file's size and sha256 in `checksums.json` beside them,
// with the file's stamp (size, mtime, ctime, inode). Loading checks the stamp (two stats): any
// write to a file through the file system changes its ctime, which no program can set back,
// so an unchanged stamp means unchanged content; a changed stamp means a full sha256 of that
// file, and a match records the new stamp. The full check reads the file once: its cost is
// the hash throughput times the size (see README "Reliability and security").
import { statSync } from "node:fs";
import { join } from "node:path";
import { sha256OfFile } from "../checkpoint/content-hash";
import { writeFileAtomic } from "../files/atomic-write";
import { readRegularText } from "../files/regular-file";
import { DATA_FILE, MODEL_FILE } from "../model/convert";

export const CHECKSUMS_FILE = "checksums.json";
/** The files of a converted model that are checked. */
export const CHECKED_FILES = [MODEL_FILE, DATA_FILE] as const;

interface Stamp {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

interface ChecksumsFile {
  format: "monet-lens-converted-checksums";
  version: 1;
  files: Record<string, { size: number; sha256: string; stamp: Stamp }>;
}

export type Verdict = { ok: true; hashed: string[] } | { ok: false; why: string };

function stampOf(path: string): Stamp {
  const st = statSync(path);
  return { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
}

const sameStamp = (a: Stamp, b: Stamp) =>
  a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;

/** Hashes the converted files in `dir` and records them (after a conversion, under the store's lock). */
export async function recordChecksums(dir: string): Promise<void> {
  const files: ChecksumsFile["files"] = {};
  for (const name of CHECKED_FILES) {
    const path = join(dir, name);
    const stamp = stampOf(path);
    files[name] = { size: stamp.size, sha256: await sha256OfFile(path), stamp };
  }
  write(dir, { format: "monet-lens-converted-checksums", version: 1, files });
}

function write(dir: string, c: ChecksumsFile): void {
  writeFileAtomic(join(dir, CHECKSUMS_FILE), `${JSON.stringify(c, null, 1)}\n`);
}

function read(dir: string): ChecksumsFile | undefined {
  try {
    const c = JSON.parse(
      readRegularText(join(dir, CHECKSUMS_FILE), { maxBytes: 64 << 10, what: "checksums file" }),
    ) as ChecksumsFile;
    if (c.format !== "monet-lens-converted-checksums" || c.version !== 1) return undefined;
    for (const name of CHECKED_FILES) {
      const f = c.files?.[name];
      if (!f || typeof f.sha256 !== "string" || typeof f.size !== "number" || typeof f.stamp !== "object")
        return undefined;
    }
    return c;
  } catch {
    return undefined;
  }
}

/**
 * Whether the converted files in `dir` are what was written: by stamp when unchanged, else by
 * a full sha256 (`hashed` names the files that needed it). A failed check says which file and how.
 */
export async function verifyChecksums(dir: string): Promise<Verdict> {
  const c = read(dir);
  if (!c)
    return {
      ok: false,
      why: `no valid ${CHECKSUMS_FILE} (made by an older version of Monet Lens, or the conversion was interrupted)`,
    };
  const hashed: string[] = [];
  let restamped = false;
  for (const name of CHECKED_FILES) {
    const want = c.files[name]!;
    const path = join(dir, name);
    let stamp: Stamp;
    try {
      stamp = stampOf(path);
    } catch (e) {
      return { ok: false, why: `${name} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})` };
    }
    if (stamp.size !== want.size)
      return { ok: false, why: `${name} has ${stamp.size} bytes, not the ${want.size} written` };
    if (sameStamp(stamp, want.stamp)) continue;
    hashed.push(name);
    const sha256 = await sha256OfFile(path);
    if (sha256 !== want.sha256)
      return { ok: false, why: `${name} was changed on disk (its sha256 is not the one recorded)` };
    want.stamp = stamp;
    restamped = true;
  }
  if (restamped) {
    try {
      write(dir, c); // the next load needs no hash; a read-only cache just hashes again
    } catch {
      // checked, but not recorded
    }
  }
  return { ok: true, hashed };
}
