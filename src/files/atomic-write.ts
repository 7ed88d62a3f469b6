// Writes a file so that readers see the old content or the new, never a mix: the data
// goes to a temporary file in the same folder, which is then renamed over the target.
// A failure (disk full, read-only folder) removes the temporary file, keeps the old
// content, and is reported with the target's path and what to do.
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { makeFolder, writeTarget } from "./folders";
import { basename, dirname, join } from "node:path";

export type WriteFunction = (path: string, data: string | Uint8Array) => void;

/** Errors of a full or unwritable disk: the user can fix them (free space, permissions, another folder). */
export const WRITE_FAILURES: Readonly<Record<string, string>> = {
  ENOSPC: "the disk is full",
  EDQUOT: "the disk quota is exhausted",
  EROFS: "the file system is read-only",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
};

/** A write error as one line naming `path`, or undefined when it is not a disk/permission failure. */
export function describeWriteFailure(path: string, e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const why = code ? WRITE_FAILURES[code] : undefined;
  return why ? `cannot write ${path}: ${why} (${code})` : undefined;
}

export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  write: WriteFunction = writeFileSync,
): void {
  path = writeTarget(path); // through a symbolic link to the real file; never over a device
  const dir = dirname(path);
  const unique = `${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const tmp = join(dir, `.${basename(path)}.tmp-${unique}`);
  try {
    makeFolder(dir, "choose another path"); // names a file in the way (not a bare ENOTDIR)
    write(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // ENOTDIR: a file is in the way of the folder (makeFolder said so), so there is no temporary file
    }
    const line = describeWriteFailure(path, e);
    if (line)
      throw Object.assign(
        new Error(
          `${line}; free some space or choose a writable folder (the previous file, if any, is unchanged)`,
        ),
        { code: (e as NodeJS.ErrnoException).code, cause: e },
      );
    throw e;
  }
}
