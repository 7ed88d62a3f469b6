// Making folders, and choosing where a file is written, with messages that name the path
// that is in the way instead of a bare ENOTDIR, EEXIST or a device node replaced by a file.
import { lstatSync, mkdirSync, readlinkSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { describeKind } from "./regular-file";

/**
 * mkdir -p `path`. When a file (or anything not a folder) stands where a folder must be,
 * throws an error naming it, followed by `fix` (what the user can do instead).
 */
export function makeFolder(path: string, fix: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOTDIR" && code !== "EEXIST") throw e;
    let blocker = resolve(path);
    for (let p = blocker; ; p = dirname(p)) {
      try {
        if (!statSync(p).isDirectory()) blocker = p;
      } catch {
        // not there: a folder to be made
      }
      if (dirname(p) === p) break;
    }
    let kind = "a file";
    try {
      kind = describeKind(statSync(blocker)).replace("not a regular file", "a file");
    } catch {
      // described as a file
    }
    throw Object.assign(
      new Error(`${blocker} is ${kind}, not a folder, so the folder ${path} cannot be made: ${fix}`),
      { code },
    );
  }
}

/**
 * The file an atomic write of `path` replaces: `path` itself when it is a regular file or
 * does not exist, or, when it is a symbolic link, the file it finally points to (the user
 * pointed there; the link stays a link). Anything else (a device such as /dev/full, a FIFO,
 * a socket, a folder) is refused: a rename would replace it with a regular file.
 */
export function writeTarget(path: string): string {
  let p = path;
  for (let hops = 0; hops < 40; hops++) {
    let st: import("node:fs").Stats;
    try {
      st = lstatSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return p; // makeFolder names what is in the way
      throw e;
    }
    if (st.isFile()) return p;
    if (!st.isSymbolicLink()) {
      const through = p === path ? "is" : `is a symbolic link to ${p}, which is`;
      throw Object.assign(
        new Error(
          `${path} ${through} ${describeKind(st)}, not a regular file: Monet Lens only writes regular files (it would replace it); choose a file path`,
        ),
        { code: "ENOTREG" },
      );
    }
    p = resolve(dirname(p), readlinkSync(p));
  }
  throw Object.assign(new Error(`${path}: symbolic links loop; choose a file path`), { code: "ELOOP" });
}
