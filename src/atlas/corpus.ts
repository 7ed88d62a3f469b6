// A corpus: a directory tree of source files, each given a language by its extension.
// Walks the tree in a fixed order, skips what is not source text, splits each language's
// files into a training part and a held-out part by a rule the atlas records, and orders
// files so that a token budget samples a whole language rather than its first package.
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, statSync } from "node:fs";
import { readRegularFile, readRegularPrefix } from "../files/regular-file";
import { join } from "node:path";
import { languageOfPath, whyNoLanguage } from "./languages";

export interface CorpusFile {
  path: string;
  /** Path relative to the corpus root, with "/" separators. */
  rel: string;
  language: string;
  bytes: number;
}

export interface CorpusScan {
  root: string;
  /** Sorted by `rel`. */
  files: CorpusFile[];
  skipped: Array<{ rel: string; reason: string }>;
}

/** Files larger than this are skipped (generated code, data, minified bundles). */
export const MAX_FILE_BYTES = 1 << 20;

export function scanCorpus(root: string, opts: { maxFileBytes?: number } = {}): CorpusScan {
  const maxBytes = opts.maxFileBytes ?? MAX_FILE_BYTES;
  let top: ReturnType<typeof lstatSync>;
  try {
    top = statSync(root); // the root the user gave may be a symbolic link; links inside are skipped
  } catch {
    throw new Error(`${root}: the corpus folder does not exist`);
  }
  if (!top.isDirectory()) throw new Error(`${root}: the corpus must be a folder of source files`);
  const files: CorpusFile[] = [];
  const skipped: CorpusScan["skipped"] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith(".") || name === "node_modules") continue;
      const path = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(path);
      if (st.isDirectory()) walk(path, r);
      else if (!st.isFile())
        skipped.push({ rel: r, reason: st.isSymbolicLink() ? "symbolic link" : "not a regular file" });
      else {
        const language = languageOfPath(name);
        if (!language) skipped.push({ rel: r, reason: whyNoLanguage(name) });
        else if (st.size === 0) skipped.push({ rel: r, reason: "empty" });
        else if (st.size > maxBytes) skipped.push({ rel: r, reason: `larger than ${maxBytes} bytes` });
        else if (looksBinary(path)) skipped.push({ rel: r, reason: "binary" });
        else files.push({ path, rel: r, language, bytes: st.size });
      }
    }
  };
  walk(root, "");
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { root, files, skipped };
}

function looksBinary(path: string): boolean {
  return readRegularPrefix(path, 8192, "source file").includes(0);
}

/** The languages of a scan with their files (each list sorted by path). */
export function byLanguage(files: readonly CorpusFile[]): Map<string, CorpusFile[]> {
  const out = new Map<string, CorpusFile[]>();
  for (const f of files) {
    const list = out.get(f.language) ?? [];
    list.push(f);
    out.set(f.language, list);
  }
  for (const list of out.values()) list.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * The held-out rule: within each language, files sorted by relative path, file number n
 * (from 0) is held out when n % every === offset. Recorded in the atlas, so that
 * `atlas eval` evaluates on the files the atlas did not see.
 */
export interface SplitRule {
  method: "every-kth-file-by-path";
  every: number;
  offset: number;
}

export const DEFAULT_SPLIT: SplitRule = { method: "every-kth-file-by-path", every: 5, offset: 4 };

export function splitFiles(
  files: readonly CorpusFile[],
  rule: SplitRule,
): { train: CorpusFile[]; heldOut: CorpusFile[] } {
  if (
    rule.method !== "every-kth-file-by-path" ||
    !Number.isInteger(rule.every) ||
    rule.every < 2 ||
    !Number.isInteger(rule.offset) ||
    rule.offset < 0 ||
    rule.offset >= rule.every
  ) {
    throw new Error(`unsupported split rule ${JSON.stringify(rule)}`);
  }
  const sorted = [...files].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const train: CorpusFile[] = [];
  const heldOut: CorpusFile[] = [];
  sorted.forEach((f, n) => {
    (n % rule.every === rule.offset ? heldOut : train).push(f);
  });
  return { train, heldOut };
}

/**
 * The order in which a token budget reads files: by a hash of the path, so a budget
 * smaller than the language takes files from all over the corpus, the same ones every run.
 */
export function budgetOrder(files: readonly CorpusFile[]): CorpusFile[] {
  const key = (f: CorpusFile) => createHash("sha256").update(f.rel).digest("hex");
  return files
    .map((f) => [key(f), f] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, f]) => f);
}

/** A file's text, or null when it is not valid UTF-8; `hash` identifies its content. */
export function readSource(file: CorpusFile): { text: string; hash: string } | null {
  const bytes = readRegularFile(file.path, {
    maxBytes: Math.max(file.bytes, MAX_FILE_BYTES),
    what: "source file",
  });
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  return { text, hash: contentHash(bytes) };
}

/** The first 16 hex digits of the sha256 of a file's bytes: how an atlas remembers what it saw. */
export function contentHash(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 16);
}
