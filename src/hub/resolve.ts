// Model references → folders, from the local Hugging Face cache only: no network, ever, so it
// works offline and costs nothing at start-up. A folder path stays a folder path.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { hubCacheDir } from "./environment";
import { HubError } from "./errors";
import { readRef, repoCache } from "./cache-layout";
import { formatRepoRef, isCommitHash, looksLikeRepoRef, parseRepoRef, type RepoRef } from "./repo-ref";
import { missingModelFiles } from "./wanted-files";

export interface ResolvedModel {
  /** The folder to open: the snapshot folder of a repo id, or the folder given. */
  dir: string;
  /** Set when the reference was a repo id. */
  hub?: RepoRef & { commit: string; cacheDir: string };
}

export interface ResolveOptions {
  /** Say in the error that the Hub cannot be asked (HF_HUB_OFFLINE). Resolution never uses the network. */
  offline?: boolean;
  /** The Hugging Face cache (default: HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /**
   * How to fetch a missing model, for the error (default: the CLI's `monet-lens pull REF`);
   * VS Code names its Download Model command.
   */
  howToFetch?: (ref: string) => string;
}

const pullHint = (ref: string): string => `fetch it with \`monet-lens pull ${ref}\``;

/**
 * Resolves `ref` (a folder, `org/name` or `org/name@revision`) to a folder on this machine.
 * A repo id resolves through `refs/<revision>` (or a commit hash directly) to its snapshot;
 * a missing or incomplete snapshot throws HubError("not-cached") saying how to fetch it.
 */
export function resolveModelRef(ref: string, opts: ResolveOptions = {}): ResolvedModel {
  if (!looksLikeRepoRef(ref)) return { dir: resolve(ref) };
  const parsed = parseRepoRef(ref);
  const cacheDir = opts.cacheDir ?? hubCacheDir();
  const cache = repoCache(cacheDir, parsed.repo);
  const fetchHint = `${(opts.howToFetch ?? pullHint)(formatRepoRef(parsed))}${
    opts.offline ? " (with the network: unset HF_HUB_OFFLINE first)" : ""
  }`;
  const commit = isCommitHash(parsed.revision) ? parsed.revision : readRef(cache, parsed.revision);
  if (!commit || !existsSync(cache.snapshot(commit))) {
    throw new HubError(
      `${formatRepoRef(parsed)} is not in the Hugging Face cache (${cache.dir}): ${fetchHint}`,
      "not-cached",
    );
  }
  const dir = cache.snapshot(commit);
  const missing = missingModelFiles(dir);
  if (missing.length > 0) {
    throw new HubError(
      `${formatRepoRef(parsed)} is only partly in the Hugging Face cache (${dir} lacks ${missing.join(", ")}): ${fetchHint}`,
      "not-cached",
    );
  }
  return { dir, hub: { ...parsed, commit, cacheDir } };
}
