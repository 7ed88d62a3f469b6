// Converted models on disk, keyed by the checkpoint's fingerprint, the converter version
// and the dtype. Conversion happens once; a lock file keeps two processes (two VS Code
// windows, a CLI run) from converting the same model at once, and a damaged entry is
// detected by its manifest and rebuilt, and so is one whose files changed on disk (their
// checksums, converted-checksums.ts) or that onnxruntime cannot open (engine.ts asks for a
// rebuild). The store owns its folders' names: where the cache
// is (cacheDirFor), the entries, and the work folders of conversions in progress
// (`<entry>.tmp-<pid>-<time>`), which abandonConversions removes for a killed process.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { describeWriteFailure } from "../files/atomic-write";
import { defaultCacheRoot } from "../files/cache-root";
import { hashCacheFileIn } from "../checkpoint/content-hash";
import { makeFolder } from "../files/folders";
import { acquireLock } from "../files/lock-file";
import type { Checkpoint } from "../checkpoint/checkpoint";
import { recordChecksums, verifyChecksums } from "./converted-checksums";
import { throwIfCancelled } from "./errors";
import {
  CONVERTER_VERSION,
  MODEL_FILE,
  convertToOnnx,
  readConverted,
  type ConvertedManifest,
} from "../model/convert";
import { isQuantized, type GraphDtype } from "../model/monet-graph";

export interface StoreOptions {
  cacheDir?: string;
  dtype?: GraphDtype;
  /**
   * Quantized graphs: MatMulNBits' accuracy_level (default 4, int8 activations). 0 (float32
   * activations, exact against the dequantized weights) is kept in a folder of its own: the GPU
   * check's reference for quantized graphs.
   */
  accuracyLevel?: 0 | 4;
  onProgress?: (done: number, total: number, what: string) => void;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Convert again even if a conversion is cached (onnxruntime could not open it). */
  rebuild?: boolean;
}

/**
 * The cache folder: $MONET_LENS_CACHE when set, else `appDefault` (the extension's own
 * storage), else $XDG_CACHE_HOME/monet-lens (~/.cache/monet-lens).
 */
export function cacheDirFor(appDefault?: string): string {
  return process.env.MONET_LENS_CACHE ?? appDefault ?? defaultCacheRoot();
}

/** The converted models' folder in a cache folder. */
function convertedRoot(cacheDir: string): string {
  return join(cacheDir, "converted");
}

const TEMPORARY = ".tmp-";

/** The work folder of a conversion into `dir` by this process. */
function temporaryFolder(dir: string): string {
  return `${dir}${TEMPORARY}${process.pid}-${Date.now()}`;
}

/**
 * Removes the work folders of conversions that process `pid` had in progress (it was
 * killed, e.g. by a Cancel button): they are never read, but may hold gigabytes.
 */
export function abandonConversions(cacheDir: string, pid: number): void {
  const root = convertedRoot(cacheDir);
  try {
    for (const name of readdirSync(root))
      if (name.includes(`${TEMPORARY}${pid}-`)) rmSync(join(root, name), { recursive: true, force: true });
  } catch {
    // nothing converted yet
  }
}

export interface ConvertedModel {
  dir: string;
  modelPath: string;
  manifest: ConvertedManifest;
  /** True when this call did the conversion. */
  converted: boolean;
}

/**
 * Returns the converted model for `ckpt`, converting it first if needed. A full or
 * read-only disk fails with a message naming the folder (and nothing half-written stays).
 */
export async function ensureConverted(ckpt: Checkpoint, opts: StoreOptions = {}): Promise<ConvertedModel> {
  const cacheDir = opts.cacheDir ?? cacheDirFor();
  const root = convertedRoot(cacheDir);
  try {
    return await ensureConvertedIn(root, ckpt, opts, hashCacheFileIn(cacheDir));
  } catch (e) {
    const line = describeWriteFailure(root, e);
    if (!line) throw e;
    throw Object.assign(
      new Error(
        `${line} while converting ${ckpt.dir} to ONNX; free some space or make the folder ` +
          `writable (or set MONET_LENS_CACHE to another folder)`,
      ),
      { code: (e as NodeJS.ErrnoException).code, cause: e },
    );
  }
}

async function ensureConvertedIn(
  root: string,
  ckpt: Checkpoint,
  opts: StoreOptions,
  hashCacheFile: string,
): Promise<ConvertedModel> {
  const dtype = opts.dtype ?? "float32";
  const fingerprint = await ckpt.fingerprint({ cacheFile: hashCacheFile });
  makeFolder(root, "remove it, or set MONET_LENS_CACHE to another folder");
  const exactActivations = opts.accuracyLevel === 0 && isQuantized(dtype);
  const dir = join(
    root,
    `${fingerprint.slice(0, 24)}-v${CONVERTER_VERSION}-${dtype}${exactActivations ? "-acc0" : ""}`,
  );
  /** The cached conversion when it is complete and its files are what was written, else why not. */
  const ready = async (): Promise<ConvertedManifest | string> => {
    const manifest = readConverted(dir, { fingerprint, dtype });
    if (!manifest)
      return existsSync(dir)
        ? "its manifest is missing or damaged, or a file does not have the size written"
        : "";
    const verdict = await verifyChecksums(dir);
    if (!verdict.ok) return verdict.why;
    if (verdict.hashed.length) opts.log?.(`checked ${verdict.hashed.join(" and ")} in ${dir}: unchanged`);
    return manifest;
  };
  let found = opts.rebuild ? "" : await ready();
  if (typeof found !== "string")
    return { dir, modelPath: join(dir, MODEL_FILE), manifest: found, converted: false };

  const release = await acquireLock(`${dir}.lock`, { ...opts, doing: "converting this model" });
  try {
    if (!opts.rebuild) {
      found = await ready(); // another process may have finished (or rebuilt it) while we waited
      if (typeof found !== "string")
        return { dir, modelPath: join(dir, MODEL_FILE), manifest: found, converted: false };
      if (found) opts.log?.(`the converted model in ${dir} is damaged: ${found}; rebuilding it`);
    }
    removeDeadTemporaries(dir, opts.log);
    opts.log?.(`converting ${ckpt.dir} to ONNX (${dtype}) in ${dir}`);
    const manifest = await convertToOnnx(ckpt, dir, {
      fingerprint,
      dtype,
      accuracyLevel: exactActivations ? 0 : undefined,
      workDir: temporaryFolder(dir),
      onProgress: (done, total, what) => {
        throwIfCancelled(opts.signal, "conversion cancelled");
        opts.onProgress?.(done, total, what);
      },
    });
    await recordChecksums(dir);
    return { dir, modelPath: join(dir, MODEL_FILE), manifest, converted: true };
  } finally {
    release();
  }
}

/** Whether process `pid` is alive (EPERM: it exists but is not ours). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes `<dir>.tmp-<pid>-<time>` folders left by conversions whose process died (killed,
 * crashed, power cut): they are never read, but may hold gigabytes. Called under the lock.
 */
function removeDeadTemporaries(dir: string, log?: (line: string) => void): void {
  const prefix = `${basename(dir)}${TEMPORARY}`;
  const root = join(dir, "..");
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    if (Number.isInteger(pid) && pid > 0 && (pid === process.pid || alive(pid))) continue;
    rmSync(join(root, name), { recursive: true, force: true });
    log?.(`removed ${name}, left by an interrupted conversion`);
  }
}
