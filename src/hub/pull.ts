// `pull`: fetches a model's files from the Hugging Face Hub into the standard cache, with the
// official client `@huggingface/hub` for everything it does (the commit a revision points to:
// modelInfo; the file listing with each LFS file's sha256: listFiles; each file's download URL
// and size: fileDownloadInfo) and download-blob.ts for what it lacks (resume, progress,
// cancellation, checksum). Every byte lands in `blobs/<etag>.incomplete` and is renamed to
// `blobs/<etag>` only once its hash matches the Hub's, so a complete-looking file is complete.
import { statfsSync, renameSync, rmSync, mkdirSync, existsSync, statSync } from "node:fs";
import { fileDownloadInfo, HubApiError, listFiles, modelInfo } from "@huggingface/hub";
import { acquireBlobLock } from "./blob-lock";
import { blobExists, linkSnapshotFile, repoCache, writeRef, type RepoCache } from "./cache-layout";
import { downloadBlob, PermanentHttpError, type ContentCheck } from "./download-blob";
import { hubCacheDir, hubEndpoint, hubOffline, hubToken } from "./environment";
import { HubError } from "./errors";
import { formatRepoRef, isCommitHash, parseRepoRef, type RepoRef } from "./repo-ref";
import { resolveModelRef } from "./resolve";
import { isWantedFile } from "./wanted-files";

export interface PullProgress {
  /** The file being fetched (repository path), or undefined before and after. */
  file: string | undefined;
  /** 1-based position of `file` among the files to fetch, and their count. */
  fileIndex: number;
  fileCount: number;
  /** Bytes of all files to fetch that are on disk (kept from an earlier run included), of the total. */
  bytesDone: number;
  bytesTotal: number;
  /** Over the last few seconds; 0 before the first bytes. */
  bytesPerSecond: number;
  /** At the current speed; undefined while unknown. */
  secondsLeft: number | undefined;
}

export interface PullOptions {
  /** A branch, tag or commit hash; overrides one given as `org/name@revision`. */
  revision?: string;
  onProgress?: (p: PullProgress) => void;
  /** Aborting stops at once and keeps what was fetched (a rerun resumes). */
  signal?: AbortSignal;
  /** Notes for a log (resumes, waits for another process). */
  log?: (line: string) => void;
  /** Default: HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub. */
  cacheDir?: string;
  /** Default: HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Default: HF_TOKEN (or the token file of huggingface-cli login). */
  token?: string;
  /** Default: HF_HUB_OFFLINE. Offline, pull only checks the cache. */
  offline?: boolean;
  /** Attempts in a row without a new byte before a file is given up (default 5). */
  retries?: number;
  /** Free bytes at a folder (default: statfs); for tests. */
  freeBytes?: (dir: string) => number;
}

export interface PulledFile {
  path: string;
  size: number;
  /** The blob's name: the sha256 (LFS files) or git sha1 (small files). */
  etag: string;
  /** False when the blob was already in the cache. */
  downloaded: boolean;
}

export interface PullResult extends RepoRef {
  commit: string;
  /** The snapshot folder: open it as a model folder. */
  dir: string;
  files: PulledFile[];
  /** Bytes fetched by this call (resumed bytes from an earlier run not counted). */
  bytesFetched: number;
}

interface RemoteFile {
  path: string;
  size: number;
  etag: string;
  check: ContentCheck;
}

/** Fetches `ref` (`org/name` or `org/name@revision`) into the cache; returns the snapshot. */
export async function pull(ref: string, opts: PullOptions = {}): Promise<PullResult> {
  const parsed = parseRepoRef(ref);
  const target: RepoRef = { repo: parsed.repo, revision: opts.revision ?? parsed.revision };
  const cacheDir = opts.cacheDir ?? hubCacheDir();
  const offline = opts.offline ?? hubOffline();
  if (offline) return fromCacheOnly(target, cacheDir);

  const endpoint = (opts.endpoint ?? hubEndpoint()).replace(/\/+$/, "");
  const token = opts.token ?? hubToken();
  const hub = { hubUrl: endpoint, accessToken: token, fetch: fetchWith(opts.signal) };
  const cache = repoCache(cacheDir, target.repo);
  const what = formatRepoRef(target);

  const commit = await askHub(what, endpoint, token, opts.signal, async () =>
    isCommitHash(target.revision)
      ? target.revision
      : (await modelInfo({ ...hub, name: target.repo, revision: target.revision, additionalFields: ["sha"] }))
          .sha,
  );
  if (!commit || !isCommitHash(commit))
    throw new HubError(`${endpoint} gave no commit for ${what}: is HF_ENDPOINT a Hugging Face Hub?`);
  const files = await askHub(what, endpoint, token, opts.signal, () => listWanted(hub, target.repo, commit));
  checkHasModel(files, what, commit);

  mkdirSync(cache.blobs, { recursive: true });
  writeRef(cache, target.revision, commit);
  const toFetch = files.filter((f) => !blobExists(cache, f.etag));
  checkDiskSpace(cache, toFetch, opts.freeBytes ?? freeBytesAt);

  const progress = new ProgressMeter(
    toFetch.length,
    sum(toFetch, (f) => f.size),
    opts.onProgress,
  );
  let bytesFetched = 0;
  for (const [i, f] of toFetch.entries()) {
    progress.startFile(f.path, i + 1);
    const release = await acquireBlobLock(cache.lock(f.etag), opts.signal, () =>
      opts.log?.(`waiting for another process fetching ${f.path} (lock ${cache.lock(f.etag)})`),
    );
    try {
      if (blobExists(cache, f.etag)) {
        progress.add(f.size, true); // another process fetched it meanwhile
        continue;
      }
      const url = await askHub(what, endpoint, token, opts.signal, async () => {
        const info = await fileDownloadInfo({ ...hub, repo: target.repo, path: f.path, revision: commit });
        if (!info) throw new HubError(`${what} has no file ${f.path} at ${commit}`, "not-found");
        if (info.size !== f.size)
          throw new HubError(
            `${endpoint} lists ${f.path} with ${f.size} bytes but serves ${info.size}: try again later`,
          );
        return info.url;
      });
      const digest = await askHub(what, endpoint, token, opts.signal, () =>
        downloadBlob({
          url,
          headers: sameOrigin(url, endpoint) && token ? { Authorization: `Bearer ${token}` } : {},
          incomplete: cache.incomplete(f.etag),
          size: f.size,
          check: f.check,
          signal: opts.signal,
          retries: opts.retries,
          log: opts.log,
          onBytes: (n, resumed) => {
            if (!resumed) bytesFetched += n;
            progress.add(n, resumed);
          },
        }),
      );
      if (digest !== f.check.expected) {
        rmSync(cache.incomplete(f.etag), { force: true });
        throw new HubError(
          `${f.path} of ${what} does not match the Hub's checksum (${f.check.kind} ${digest}, expected ${f.check.expected}); the damaged download was deleted: run the same command again`,
          "checksum",
        );
      }
      renameSync(cache.incomplete(f.etag), cache.blob(f.etag));
    } finally {
      release();
    }
  }
  for (const f of files) linkSnapshotFile(cache, commit, f.path, f.etag);
  progress.finish();
  const fetched = new Set(toFetch.map((f) => f.etag));
  return {
    ...target,
    commit,
    dir: cache.snapshot(commit),
    files: files.map((f) => ({ path: f.path, size: f.size, etag: f.etag, downloaded: fetched.has(f.etag) })),
    bytesFetched,
  };
}

/** Offline: the cached snapshot if it is complete, else a HubError saying how to fetch it. */
function fromCacheOnly(target: RepoRef, cacheDir: string): PullResult {
  const { dir, hub } = resolveModelRef(formatRepoRef(target), { offline: true, cacheDir });
  return { ...target, commit: hub!.commit, dir, files: [], bytesFetched: 0 };
}

async function listWanted(
  hub: { hubUrl: string; accessToken: string | undefined; fetch: typeof fetch },
  repo: string,
  commit: string,
): Promise<RemoteFile[]> {
  const out: RemoteFile[] = [];
  for await (const e of listFiles({ ...hub, repo, revision: commit, recursive: true })) {
    if (e.type !== "file" || !isWantedFile(e.path)) continue;
    // Python names blobs by the ETag, which is the LFS sha256 for LFS files and the git blob
    // sha1 for the others; the tree listing carries both.
    if (e.lfs)
      out.push({
        path: e.path,
        size: e.lfs.size,
        etag: e.lfs.oid,
        check: { kind: "sha256", expected: e.lfs.oid },
      });
    else if (e.oid)
      out.push({ path: e.path, size: e.size, etag: e.oid, check: { kind: "git-sha1", expected: e.oid } });
    else throw new HubError(`the Hub's listing of ${repo} gives no hash for ${e.path}`);
  }
  return out;
}

function checkHasModel(files: RemoteFile[], what: string, commit: string): void {
  const names = new Set(files.map((f) => f.path));
  const weights = [...names].some((n) => n.endsWith(".safetensors"));
  if (!names.has("config.json") || !weights)
    throw new HubError(
      `${what} (commit ${commit.slice(0, 12)}) has no ${!names.has("config.json") ? "config.json" : ".safetensors weights"}: it is not a model Monet Lens can run (CodeMonet: MonetLLM/codemonet-vd-1.4B-100BT-hf)`,
      "not-found",
    );
}

function freeBytesAt(dir: string): number {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

function checkDiskSpace(cache: RepoCache, files: RemoteFile[], freeBytes: (dir: string) => number): void {
  const kept = (f: RemoteFile) =>
    existsSync(cache.incomplete(f.etag)) ? statSync(cache.incomplete(f.etag)).size : 0;
  const needed = sum(files, (f) => Math.max(0, f.size - kept(f)));
  const free = freeBytes(cache.blobs);
  if (needed > free)
    throw new HubError(
      `not enough disk space in ${cache.blobs}: the download needs ${formatBytes(needed)} (${needed.toLocaleString("en-US")} bytes) and ${formatBytes(free)} are free; free some space or set HF_HUB_CACHE to a folder on another disk`,
      "disk-space",
    );
}

/** Turns the client's and fetch's errors into HubErrors that say what to do. */
async function askHub<T>(
  what: string,
  endpoint: string,
  token: string | undefined,
  signal: AbortSignal | undefined,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (e instanceof HubError) throw e;
    if (signal?.aborted)
      throw new HubError("download cancelled; run the same command again to resume", "cancelled");
    const status =
      e instanceof HubApiError ? e.statusCode : e instanceof PermanentHttpError ? e.status : undefined;
    if (status === 401)
      throw new HubError(
        token
          ? `${endpoint} refused the token for ${what} (HTTP 401): check HF_TOKEN (a read token from your Hugging Face settings)`
          : `${what} needs a Hugging Face account (HTTP 401: gated or private): accept its terms on its Hub page, then set HF_TOKEN to an access token (or run huggingface-cli login)`,
        "unauthorized",
        { cause: e },
      );
    if (status === 403)
      throw new HubError(
        `${endpoint} denied access to ${what} (HTTP 403): accept the model's terms on its Hub page with the account of HF_TOKEN`,
        "unauthorized",
        { cause: e },
      );
    if (status === 404)
      throw new HubError(
        `${what} was not found on ${endpoint} (HTTP 404): check the name and revision (e.g. MonetLLM/codemonet-vd-1.4B-100BT-hf)`,
        "not-found",
        { cause: e },
      );
    if (e instanceof TypeError && /token must start/.test(e.message))
      throw new HubError(
        `HF_TOKEN is not a Hugging Face access token (they start with "hf_")`,
        "unauthorized",
      );
    throw new HubError(
      `cannot fetch ${what} from ${endpoint} (${(e as Error).message}${(e as { cause?: Error }).cause ? `: ${(e as { cause: Error }).cause.message}` : ""}): check the network connection${
        endpoint.includes("huggingface.co") ? "" : " and HF_ENDPOINT"
      }, then run the same command again`,
      "network",
      { cause: e },
    );
  }
}

/** fetch with the pull's AbortSignal, for the official client (which takes no signal itself). */
function fetchWith(signal: AbortSignal | undefined): typeof fetch {
  return (input, init) => fetch(input, { ...init, signal });
}

function sameOrigin(url: string, endpoint: string): boolean {
  try {
    return new URL(url).origin === new URL(endpoint).origin;
  } catch {
    return false;
  }
}

const sum = <T>(xs: T[], f: (x: T) => number): number => xs.reduce((s, x) => s + f(x), 0);

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

/** Bytes done of the total, speed over a sliding window, and time left, for onProgress. */
class ProgressMeter {
  private done = 0;
  private file: string | undefined;
  private index = 0;
  private readonly samples: Array<[number, number]> = []; // [time ms, bytes fetched so far]
  private fetched = 0;
  private lastEmit = 0;

  constructor(
    private readonly count: number,
    private readonly total: number,
    private readonly emit: ((p: PullProgress) => void) | undefined,
  ) {
    this.send(true);
  }

  startFile(file: string, index: number): void {
    this.file = file;
    this.index = index;
    this.send(true);
  }

  add(n: number, resumed: boolean): void {
    this.done += n;
    if (!resumed) {
      this.fetched += n;
      const now = Date.now();
      this.samples.push([now, this.fetched]);
      while (this.samples.length > 2 && now - this.samples[0]![0] > 5000) this.samples.shift();
    }
    this.send(false);
  }

  finish(): void {
    this.file = undefined;
    this.send(true);
  }

  private send(force: boolean): void {
    if (!this.emit) return;
    const now = Date.now();
    if (!force && now - this.lastEmit < 100) return;
    this.lastEmit = now;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const dt = first && last ? (last[0] - first[0]) / 1000 : 0;
    const speed = dt > 0.2 ? (last![1] - first![1]) / dt : 0;
    this.emit({
      file: this.file,
      fileIndex: this.index,
      fileCount: this.count,
      bytesDone: this.done,
      bytesTotal: this.total,
      bytesPerSecond: speed,
      secondsLeft: speed > 0 ? (this.total - this.done) / speed : undefined,
    });
  }
}
