// Reading files that come from outside (model folders, atlases, mask files, corpora, --file
// arguments) without hanging and without unbounded reads. A FIFO, a device, a socket or a
// folder, directly or through a symbolic link, is refused before any byte is read (opening a
// FIFO for reading waits for a writer forever; /dev/zero never ends). Files are opened with
// O_NONBLOCK and checked again on the open descriptor, so a file swapped after the check is
// refused too. Whole-file reads are bounded, and the bound is in the message.
// Each reader has a synchronous and an asynchronous form: the extension host uses the latter.
import {
  constants,
  fstatSync,
  lstatSync,
  openSync,
  closeSync,
  readlinkSync,
  readSync,
  statSync,
} from "node:fs";
import type { Stats } from "node:fs";
import { lstat, open, readlink, stat, type FileHandle } from "node:fs/promises";

export type FileProblem = "missing" | "not-a-file" | "too-large" | "unreadable";

/**
 * A file that cannot be used as it is. `reason` is the message without the path (for error
 * types that add the path themselves); `message` is `${path}: ${reason}`.
 */
export class FileAccessError extends Error {
  override readonly name = "FileAccessError";

  constructor(
    readonly path: string,
    readonly problem: FileProblem,
    readonly reason: string,
    /** The system error code, when there was one (ENOENT, EACCES, …). */
    readonly code?: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

export interface ReadOptions {
  /** Most bytes the file may have. */
  maxBytes: number;
  /** What the file should be, for messages, without an article: "config.json", "atlas file". */
  what: string;
}

/** A text file given on the command line (route --file): 4 MB, far more than the model reads at once. */
export const TEXT_FILE_READ: ReadOptions = { maxBytes: 4 << 20, what: "text file" };

// O_NONBLOCK: opening a FIFO does not wait for a writer (Windows has no FIFOs and no flag).
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** "a FIFO (named pipe)", "a folder", …: what a non-regular file is. */
export function describeKind(st: Stats): string {
  if (st.isDirectory()) return "a folder";
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

/** Sizes for people: 512 bytes, 4 MB, 1.5 GB (decimal units, as file managers show them). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} bytes`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 ? Math.round(v) : Number(v.toPrecision(2))} ${units[u]}`;
}

function notAFile(path: string, st: Stats, what: string, linkTarget: string | undefined): FileAccessError {
  const kind = describeKind(st);
  const through = linkTarget === undefined ? "is" : `is a symbolic link to ${linkTarget}, which is`;
  const why = st.isDirectory()
    ? ""
    : " (reading it could wait forever or never end, so Monet Lens does not open it)";
  return new FileAccessError(
    path,
    "not-a-file",
    `${through} ${kind}, not a regular file${why}; give the path of the ${what} itself, a regular file`,
  );
}

function statFailure(path: string, e: unknown, what: string): FileAccessError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT")
    return new FileAccessError(path, "missing", `no such file (the ${what} is missing)`, code);
  if (code === "ENOTDIR")
    return new FileAccessError(
      path,
      "missing",
      `a folder on this path is a file, so the ${what} cannot be there; check the path`,
      code,
    );
  if (code === "ELOOP")
    return new FileAccessError(path, "unreadable", "symbolic links loop; check the path", code);
  return new FileAccessError(
    path,
    "unreadable",
    `cannot read the ${what} (${code ?? (e as Error).message}); check the file's permissions`,
    code,
  );
}

/** "config.json" stays as it is; "atlas file" becomes "an atlas file". */
const some = (what: string) => (what.includes(".") ? what : `${/^[aeiou]/.test(what) ? "an" : "a"} ${what}`);

function tooLarge(path: string, size: number, o: ReadOptions): FileAccessError {
  return new FileAccessError(
    path,
    "too-large",
    `is ${formatBytes(size)}, more than the ${formatBytes(o.maxBytes)} Monet Lens reads for ${some(o.what)}: it is not ${some(o.what)}, or it is damaged; check the path`,
  );
}

/** Follows the path (symbolic links too) and throws FileAccessError unless it is a regular file. */
export function checkRegularFile(path: string, what = "file"): Stats {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    throw statFailure(path, e, what);
  }
  if (!st.isFile()) throw notAFile(path, st, what, linkTargetSync(path));
  return st;
}

export async function checkRegularFileAsync(path: string, what = "file"): Promise<Stats> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (e) {
    throw statFailure(path, e, what);
  }
  if (!st.isFile()) throw notAFile(path, st, what, await linkTarget(path));
  return st;
}

function linkTargetSync(path: string): string | undefined {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : undefined;
  } catch {
    return undefined;
  }
}

async function linkTarget(path: string): Promise<string | undefined> {
  try {
    return (await lstat(path)).isSymbolicLink() ? await readlink(path) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Opens a regular file for positioned reads (safetensors shards): the type is checked before
 * opening and again on the descriptor. The caller closes the handle.
 */
export async function openRegularFile(
  path: string,
  what = "file",
): Promise<{ fh: FileHandle; size: number }> {
  await checkRegularFileAsync(path, what);
  let fh: FileHandle;
  try {
    fh = await open(path, OPEN_FLAGS);
  } catch (e) {
    throw statFailure(path, e, what);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notAFile(path, st, what, await linkTarget(path));
    return { fh, size: st.size };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** Opens a file checked by checkRegularFile, and checks the descriptor again (it may have been swapped). */
function openChecked(path: string, what: string): number {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (e) {
    throw statFailure(path, e, what);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw notAFile(path, st, what, linkTargetSync(path));
  }
  return fd;
}

/**
 * The bytes read into `buf` (one byte longer than the size fstat gave): a file that filled it
 * grew while it was read, and is refused rather than returned cut.
 */
function whole(path: string, buf: Buffer, n: number, _o: ReadOptions): Buffer {
  if (n < buf.length) return buf.subarray(0, n);
  throw new FileAccessError(
    path,
    "unreadable",
    `the file grew while it was read (it is being written, or it is not a regular file); try again once it is complete`,
  );
}

/** A whole regular file of at most `o.maxBytes` bytes. */
export function readRegularFile(path: string, o: ReadOptions): Buffer {
  checkRegularFile(path, o.what);
  const fd = openChecked(path, o.what);
  try {
    const st = fstatSync(fd);
    if (st.size > o.maxBytes) throw tooLarge(path, st.size, o);
    const buf = Buffer.allocUnsafe(st.size + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, n);
    return whole(path, buf, n, o);
  } catch (e) {
    throw e instanceof FileAccessError ? e : statFailure(path, e, o.what);
  } finally {
    closeSync(fd);
  }
}

export async function readRegularFileAsync(path: string, o: ReadOptions): Promise<Buffer> {
  const { fh, size } = await openRegularFile(path, o.what);
  try {
    if (size > o.maxBytes) throw tooLarge(path, size, o);
    const buf = Buffer.allocUnsafe(size + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = (await fh.read(buf, n, buf.length - n, n)).bytesRead;
    return whole(path, buf, n, o);
  } catch (e) {
    throw e instanceof FileAccessError ? e : statFailure(path, e, o.what);
  } finally {
    await fh.close();
  }
}

/** The first `bytes` bytes of a regular file (fewer when it is shorter). */
export function readRegularPrefix(path: string, bytes: number, what = "file"): Buffer {
  checkRegularFile(path, what);
  const fd = openChecked(path, what);
  try {
    const buf = Buffer.alloc(bytes);
    return buf.subarray(0, readSync(fd, buf, 0, bytes, 0));
  } finally {
    closeSync(fd);
  }
}

/** readRegularFile as UTF-8 text. */
export function readRegularText(path: string, o: ReadOptions): string {
  return readRegularFile(path, o).toString("utf8");
}

export async function readRegularTextAsync(path: string, o: ReadOptions): Promise<string> {
  return (await readRegularFileAsync(path, o)).toString("utf8");
}
