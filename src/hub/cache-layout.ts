// The Hugging Face cache layout, as Python's huggingface_hub writes it (file_download.py):
//
//   <cache>/models--org--name/blobs/<etag>                 file contents, named by the Hub's ETag:
//                                                          the sha256 of an LFS file, the git blob
//                                                          sha1 of a small file
//   <cache>/models--org--name/snapshots/<commit>/<path>    relative symlinks ../../blobs/<etag>
//   <cache>/models--org--name/refs/<revision>              the commit hash a branch or tag pointed
//                                                          to (no newline)
//
// so that what huggingface-cli or transformers fetched is found here, and what Monet Lens
// fetches is theirs to use. `@huggingface/hub`'s cache helpers (getRepoFolderName,
// downloadFileToCacheDir) follow the same layout; this file adds the atomic writes.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";

export const REPO_TYPE_PREFIX = "models--";

/** `models--org--name` (Python's `repo_folder_name`). */
export const repoFolderName = (repo: string): string => `${REPO_TYPE_PREFIX}${repo.split("/").join("--")}`;

export interface RepoCache {
  /** The cache root (HF_HUB_CACHE). */
  root: string;
  /** `<root>/models--org--name`. */
  dir: string;
  blobs: string;
  blob: (etag: string) => string;
  incomplete: (etag: string) => string;
  snapshot: (commit: string) => string;
  ref: (revision: string) => string;
  /** Where Python keeps its locks; ours live beside them under their own names. */
  lock: (etag: string) => string;
}

export function repoCache(root: string, repo: string): RepoCache {
  const dir = join(root, repoFolderName(repo));
  const blobs = join(dir, "blobs");
  return {
    root,
    dir,
    blobs,
    blob: (etag) => join(blobs, etag),
    incomplete: (etag) => join(blobs, `${etag}.incomplete`),
    snapshot: (commit) => join(dir, "snapshots", commit),
    ref: (revision) => join(dir, "refs", ...revision.split("/")),
    lock: (etag) => join(root, ".locks", repoFolderName(repo), `${etag}.monet-lens.lock`),
  };
}

/** The commit a branch or tag points to in the cache, if recorded. */
export function readRef(cache: RepoCache, revision: string): string | undefined {
  try {
    const commit = readFileSync(cache.ref(revision), "utf8").trim();
    return /^[0-9a-f]{40}$/.test(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}

const tmpName = (path: string): string =>
  `${path}.${process.pid.toString(16)}${Math.random().toString(16).slice(2, 8)}.tmp`;

/** Records `revision → commit` as Python does (tmp file + rename; unchanged refs are not rewritten). */
export function writeRef(cache: RepoCache, revision: string, commit: string): void {
  if (revision === commit || readRef(cache, revision) === commit) return;
  const path = cache.ref(revision);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tmpName(path);
  try {
    writeFileSync(tmp, commit); // Python's ref_path.write_text(commit_hash): the bare hash, no newline
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Points `snapshots/<commit>/<path>` at `blobs/<etag>` with a relative symlink, replacing what
 * was there atomically (a temporary link renamed over it), as Python's `_create_symlink`.
 */
export function linkSnapshotFile(cache: RepoCache, commit: string, path: string, etag: string): string {
  const pointer = join(cache.snapshot(commit), ...path.split("/"));
  const target = relative(dirname(pointer), cache.blob(etag));
  mkdirSync(dirname(pointer), { recursive: true });
  try {
    if (lstatSync(pointer).isSymbolicLink() && readlinkSync(pointer) === target) return pointer;
  } catch {
    // no pointer yet
  }
  const tmp = tmpName(pointer);
  try {
    symlinkSync(target, tmp);
    renameSync(tmp, pointer);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return pointer;
}

export const blobExists = (cache: RepoCache, etag: string): boolean => existsSync(cache.blob(etag));

/**
 * The repository and commit of a snapshot folder (`…/models--org--name/snapshots/<commit>`),
 * so a model opened from the cache can be named by its repo rather than its commit hash.
 */
export function snapshotOf(dir: string): { repo: string; commit: string } | undefined {
  const m = /(?:^|[\\/])models--([^\\/]+?)--([^\\/]+)[\\/]snapshots[\\/]([0-9a-f]{40})[\\/]*$/.exec(dir);
  return m ? { repo: `${m[1]}/${m[2]}`, commit: m[3]! } : undefined;
}
