// Model references: `org/name` or `org/name@revision` (a branch, a tag or a commit hash), as
// opposed to a folder path. A path that exists is always a folder path.
import { existsSync } from "node:fs";
import { isAbsolute } from "node:path";
import { HubError } from "./errors";

export interface RepoRef {
  /** `org/name`, as the Hub spells it. */
  repo: string;
  /** A branch, a tag or a 40-hex commit hash; "main" when not given. */
  revision: string;
}

export const DEFAULT_REVISION = "main";

// The Hub's repo id rule (huggingface_hub/utils/_validators.py): letters, digits, "-", "_", ".",
// no "--" or ".." inside, no leading/trailing "-" or ".", at most 96 characters per part.
const PART = /^(?![.-])(?!.*(--|\.\.))[\w.-]{1,96}(?<![.-])$/;
const REVISION = /^[\w][\w./-]{0,254}$/;

export const isCommitHash = (s: string): boolean => /^[0-9a-f]{40}$/.test(s);

/** Parses `org/name[@revision]`; throws HubError("bad-reference") with the expected form. */
export function parseRepoRef(ref: string): RepoRef {
  const at = ref.indexOf("@");
  const repo = at < 0 ? ref : ref.slice(0, at);
  const revision = at < 0 ? DEFAULT_REVISION : ref.slice(at + 1);
  const parts = repo.split("/");
  const ok =
    parts.length === 2 &&
    parts.every((p) => PART.test(p)) &&
    REVISION.test(revision) &&
    !revision.includes("..") &&
    !revision.endsWith("/");
  if (!ok)
    throw new HubError(
      `"${ref}" is not a Hugging Face model id: expected org/name or org/name@revision (e.g. MonetLLM/codemonet-vd-1.4B-100BT-hf@main)`,
      "bad-reference",
    );
  return { repo, revision };
}

/** Whether `s` has the form `org/name[@revision]` (parseRepoRef would accept it). */
export function isRepoRef(s: string): boolean {
  try {
    parseRepoRef(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `s` names a Hub model rather than a folder: it has the `org/name[@rev]` form and
 * no file or folder of that name exists (relative to the current folder).
 */
export function looksLikeRepoRef(s: string): boolean {
  if (isAbsolute(s) || s.startsWith(".") || s.startsWith("~") || s.includes("\\")) return false;
  return !existsSync(s) && isRepoRef(s);
}

export const formatRepoRef = (r: RepoRef): string =>
  r.revision === DEFAULT_REVISION ? r.repo : `${r.repo}@${r.revision}`;
