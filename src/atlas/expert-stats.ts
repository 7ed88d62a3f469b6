// Expert statistics kept by the atlas build, for expert cards: each expert's routing
// profile (its mean score per atlas class) and its top-activating contexts (references
// into the corpus, never text: the corpus has mixed licences). A binary sidecar next to
// the atlas JSON, `<name>.atlas.experts.bin`, written atomically, with its own format
// version, the model's fingerprint and a content id that the atlas JSON records.
//
// Layout (little-endian):
//   bytes 0–7   magic "MLXSTAT1"
//   bytes 8–11  u32 n: length of the header
//   bytes 12…   header: n bytes of UTF-8 JSON (ExpertStatsHeader), then zero padding to a
//               multiple of 8
//   sections, each at the offset the header gives (multiples of 8):
//     profile       u16 [G][E²][C]  log-quantized mean score of expert e in class c
//     contextToken  u32 [G][E²][K]  token references (rows of the token table), best first
//     contextScore  u16 [G][E²][K]  log-quantized scores; 0 = empty slot
//     tokenFile     u32 [N]         index into header.files
//     tokenStart    u32 [N]         UTF-16 offset of the token in the file's text (UTF-8 decoded)
//     tokenLength   u16 [N]         its length in UTF-16 units
// G routing groups, E² experts per group (e = i·E + j), C classes, K contexts per expert,
// N tokens routed by the build. A score is Σ_h g1[h,i]·g2[h,j] for one token (≤ H), a mean
// score its mean over a class's tokens.
//
// Quantization (log-u16): code 0 is exactly 0; code k ≥ 1 stands for exp(LN_LO + (k − 1)·STEP)
// with LN_LO = ln 2⁻⁴⁰ and STEP = ln 2⁴⁸ / 65534: every value from 9·10⁻¹³ to 256 within
// ±0.026 % (float16 would lose precision below 6·10⁻⁵, where most experts' mean scores lie).
import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { writeFileAtomic } from "../files/atomic-write";
import { TopContexts } from "./top-contexts";

export const STATS_MAGIC = "MLXSTAT1";
export const STATS_FORMAT = "monet-lens-expert-stats";
export const STATS_VERSION = 1;
export const STATS_SUFFIX = ".experts.bin";

const LN_LO = -40 * Math.LN2;
const STEP = (48 * Math.LN2) / 65534;

export function quantizeScore(v: number): number {
  if (!(v > 0)) return 0;
  const k = Math.round((Math.log(v) - LN_LO) / STEP) + 1;
  return Math.min(Math.max(k, 1), 65535);
}

export function dequantizeScore(code: number): number {
  return code === 0 ? 0 : Math.exp(LN_LO + (code - 1) * STEP);
}

/** The sidecar's file name for an atlas file (X.atlas.json → X.atlas.experts.bin). */
export function statsPathFor(atlasPath: string): string {
  return atlasPath.replace(/\.json$/i, "") + STATS_SUFFIX;
}

interface Section {
  offset: number;
  bytes: number;
}

export interface ExpertStatsHeader {
  format: typeof STATS_FORMAT;
  version: number;
  /** sha256 (hex) of every byte after the header: the atlas JSON's `stats.id`. */
  id: string;
  model: { fingerprint: string; routingGroups: number; moeHeads: number; moeExperts: number };
  /** Profile columns. */
  classes: string[];
  /** Tokens each class's means are over. */
  classTokens: number[];
  quantization: { kind: "log-u16"; lnLo: number; step: number };
  contextsPerExpert: number;
  /** Corpus-relative path and sha256 of every file a token reference may point into. */
  files: Array<[string, string]>;
  tokens: number;
  sections: Record<
    "profile" | "contextToken" | "contextScore" | "tokenFile" | "tokenStart" | "tokenLength",
    Section
  >;
}

/** The statistics in memory, as the build makes them and writeExpertStats writes them. */
export interface ExpertStats {
  fingerprint: string;
  groups: number;
  heads: number;
  experts: number;
  classes: string[];
  classTokens: number[];
  contextsPerExpert: number;
  /** Per group, E²·C codes. */
  profile: Uint16Array[];
  /** Per group, E²·K. */
  contextToken: Uint32Array[];
  contextScore: Uint16Array[];
  files: Array<[string, string]>;
  tokenFile: Uint32Array;
  tokenStart: Uint32Array;
  tokenLength: Uint16Array;
}

/** Collects the statistics during a build (build.ts). */
export class ExpertStatsBuilder {
  readonly contexts: TopContexts;
  private readonly profile: Uint16Array[];
  private readonly classTokens: number[];
  private readonly files: Array<[string, string]> = [];
  private readonly fileIndex = new Map<string, number>();
  private tokenFile = new Uint32Array(1 << 14);
  private tokenStart = new Uint32Array(1 << 14);
  private tokenLength = new Uint16Array(1 << 14);
  private tokens = 0;

  constructor(
    private readonly shape: {
      groups: number;
      heads: number;
      experts: number;
      classes: string[];
      contextsPerExpert: number;
    },
  ) {
    const cells = shape.experts * shape.experts;
    this.contexts = new TopContexts(shape.groups, cells, shape.contextsPerExpert);
    this.profile = Array.from({ length: shape.groups }, () => new Uint16Array(cells * shape.classes.length));
    this.classTokens = shape.classes.map(() => 0);
  }

  /**
   * Records the tokens of one routed piece (BOS at position 0 left out) in the token table
   * and returns the accumulator's references for them.
   */
  addPiece(
    file: { rel: string; sha256: string },
    offset: number,
    spans: ReadonlyArray<readonly [number, number]>,
  ): { token: (t: number) => number; doc: number } {
    let doc = this.fileIndex.get(file.rel);
    if (doc === undefined) {
      doc = this.files.push([file.rel, file.sha256]) - 1;
      this.fileIndex.set(file.rel, doc);
    }
    const first = this.tokens;
    const n = spans.length - 1;
    this.reserve(first + n);
    for (let t = 1; t < spans.length; t++) {
      const [a, b] = spans[t]!;
      const k = first + t - 1;
      this.tokenFile[k] = doc;
      this.tokenStart[k] = offset + a;
      this.tokenLength[k] = Math.min(b - a, 0xffff);
    }
    this.tokens += Math.max(n, 0);
    return { token: (t) => first + t - 1, doc };
  }

  /** One class's mean scores (per group, E² values) over `tokens` tokens. */
  setProfile(cls: string, means: ArrayLike<number>[], tokens: number): void {
    const c = this.shape.classes.indexOf(cls);
    if (c < 0) throw new Error(`${cls} is not a class of these statistics`);
    const C = this.shape.classes.length;
    means.forEach((m, g) => {
      const p = this.profile[g]!;
      for (let e = 0; e < m.length; e++) p[e * C + c] = quantizeScore(m[e]!);
    });
    this.classTokens[c] = tokens;
  }

  finish(fingerprint: string): ExpertStats {
    const { score, token } = this.contexts;
    return {
      fingerprint,
      groups: this.shape.groups,
      heads: this.shape.heads,
      experts: this.shape.experts,
      classes: [...this.shape.classes],
      classTokens: [...this.classTokens],
      contextsPerExpert: this.shape.contextsPerExpert,
      profile: this.profile,
      contextToken: token,
      contextScore: score.map((s) => Uint16Array.from(s, quantizeScore)),
      files: this.files,
      tokenFile: this.tokenFile.slice(0, this.tokens),
      tokenStart: this.tokenStart.slice(0, this.tokens),
      tokenLength: this.tokenLength.slice(0, this.tokens),
    };
  }

  private reserve(n: number): void {
    if (n <= this.tokenFile.length) return;
    const size = Math.max(n, this.tokenFile.length * 2);
    const grow = <T extends Uint32Array | Uint16Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.tokenFile = grow(this.tokenFile, (k) => new Uint32Array(k));
    this.tokenStart = grow(this.tokenStart, (k) => new Uint32Array(k));
    this.tokenLength = grow(this.tokenLength, (k) => new Uint16Array(k));
  }
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const pad8 = (n: number) => (n + 7) & ~7;

/** The sidecar's bytes, and its id (what the atlas JSON records). */
export function serializeExpertStats(s: ExpertStats): { bytes: Uint8Array; id: string } {
  const parts: Array<[keyof ExpertStatsHeader["sections"], ArrayBufferView[]]> = [
    ["profile", s.profile],
    ["contextToken", s.contextToken],
    ["contextScore", s.contextScore],
    ["tokenFile", [s.tokenFile]],
    ["tokenStart", [s.tokenStart]],
    ["tokenLength", [s.tokenLength]],
  ];
  // Sections are laid out relative to the end of the header, which is known only once the
  // header (holding their offsets) is written: offsets are relative first, fixed below.
  let at = 0;
  const relative = parts.map(([name, arrays]) => {
    const bytes = arrays.reduce((n, a) => n + a.byteLength, 0);
    const sec = { name, offset: at, bytes, arrays };
    at = pad8(at + bytes);
    return sec;
  });
  const payload = new Uint8Array(at);
  for (const sec of relative) {
    let p = sec.offset;
    for (const a of sec.arrays) {
      payload.set(bytesOf(a), p);
      p += a.byteLength;
    }
  }
  const id = createHash("sha256").update(payload).digest("hex");
  const header = (base: number): ExpertStatsHeader => ({
    format: STATS_FORMAT,
    version: STATS_VERSION,
    id,
    model: {
      fingerprint: s.fingerprint,
      routingGroups: s.groups,
      moeHeads: s.heads,
      moeExperts: s.experts,
    },
    classes: s.classes,
    classTokens: s.classTokens,
    quantization: { kind: "log-u16", lnLo: LN_LO, step: STEP },
    contextsPerExpert: s.contextsPerExpert,
    files: s.files,
    tokens: s.tokenFile.length,
    sections: Object.fromEntries(
      relative.map((r) => [r.name, { offset: base + r.offset, bytes: r.bytes }]),
    ) as ExpertStatsHeader["sections"],
  });
  // The header's length depends on the offsets' digits: iterate until it is stable.
  let base = 0;
  let json = "";
  for (let i = 0; i < 4; i++) {
    json = JSON.stringify(header(base));
    const next = pad8(12 + Buffer.byteLength(json));
    if (next === base) break;
    base = next;
  }
  const out = new Uint8Array(base + payload.length);
  out.set(Buffer.from(STATS_MAGIC, "ascii"), 0);
  new DataView(out.buffer).setUint32(8, Buffer.byteLength(json), true);
  out.set(Buffer.from(json, "utf8"), 12);
  out.set(payload, base);
  return { bytes: out, id };
}

export function writeExpertStats(
  path: string,
  s: ExpertStats,
  write?: Parameters<typeof writeFileAtomic>[2],
): { id: string; bytes: number } {
  const { bytes, id } = serializeExpertStats(s);
  writeFileAtomic(path, bytes, write);
  return { id, bytes: bytes.length };
}

export class ExpertStatsError extends Error {}

export interface ContextRef {
  /** Corpus-relative path and the sha256 of the file's bytes. */
  path: string;
  sha256: string;
  /** [start, end) UTF-16 offsets into the file's text. */
  span: [number, number];
  /** Σ_h g1[h,i]·g2[h,j] for this token. */
  score: number;
}

/**
 * A sidecar opened for reading: the header is read and checked at once, the sections on
 * demand (a few bytes per expert), so a card costs no more than it shows.
 */
export class ExpertStatsFile {
  private constructor(
    readonly path: string,
    private readonly fd: number,
    readonly header: ExpertStatsHeader,
  ) {}

  /**
   * Opens `path` and checks it against the atlas that names it: format, version, the
   * atlas's `stats.id`, the model fingerprint and the section sizes.
   */
  static open(path: string, expected: { id: string; fingerprint: string; groups: number; experts: number }) {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ExpertStatsError(
        `${path}: ${code === "ENOENT" ? "the atlas's expert statistics are missing" : `cannot read the expert statistics (${code})`}; rebuild the atlas with monet-lens atlas build`,
      );
    }
    try {
      const header = readHeader(fd, path);
      const damaged = (why: string) =>
        new ExpertStatsError(
          `${path}: the expert statistics are damaged (${why}); rebuild the atlas with monet-lens atlas build`,
        );
      if (header.id !== expected.id)
        throw new ExpertStatsError(
          `${path}: these expert statistics belong to another build of the atlas (id ${header.id.slice(0, 12)}…, the atlas names ${expected.id.slice(0, 12)}…); rebuild the atlas with monet-lens atlas build`,
        );
      const m = header.model;
      if (
        m.fingerprint !== expected.fingerprint ||
        m.routingGroups !== expected.groups ||
        m.moeExperts !== expected.experts
      )
        throw new ExpertStatsError(`${path}: the expert statistics are for another model; rebuild the atlas`);
      const G = m.routingGroups;
      const cells = m.moeExperts * m.moeExperts;
      const C = header.classes.length;
      const K = header.contextsPerExpert;
      const N = header.tokens;
      const want: Record<keyof ExpertStatsHeader["sections"], number> = {
        profile: G * cells * C * 2,
        contextToken: G * cells * K * 4,
        contextScore: G * cells * K * 2,
        tokenFile: N * 4,
        tokenStart: N * 4,
        tokenLength: N * 2,
      };
      const size = fstatSync(fd).size;
      for (const [name, bytes] of Object.entries(want) as Array<[keyof typeof want, number]>) {
        const sec = header.sections?.[name];
        if (!sec || sec.bytes !== bytes || sec.offset % 8 !== 0 || sec.offset + sec.bytes > size)
          throw damaged(`section ${name} is missing, misplaced or of the wrong size`);
      }
      if (header.classTokens.length !== C || !Array.isArray(header.files)) throw damaged("invalid header");
      return new ExpertStatsFile(path, fd, header);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  get classes(): readonly string[] {
    return this.header.classes;
  }

  /** Mean score of expert `e` (= i·E + j) of group `g` per class (header.classes order). */
  profile(g: number, e: number): number[] {
    const C = this.header.classes.length;
    const codes = this.readU16("profile", (g * this.cells + e) * C, C);
    return Array.from(codes, dequantizeScore);
  }

  /** The whole profile of group `g`: E²·C codes (dequantizeScore each). */
  groupProfile(g: number): Uint16Array {
    const C = this.header.classes.length;
    return this.readU16("profile", g * this.cells * C, this.cells * C);
  }

  /** The expert's mean score over all classes' tokens pooled (the expert's own baseline). */
  pooledMean(profile: readonly number[]): number {
    const t = this.header.classTokens;
    const total = t.reduce((a, b) => a + b, 0);
    return total > 0 ? profile.reduce((s, v, c) => s + v * t[c]!, 0) / total : 0;
  }

  /** The expert's top contexts in the build's corpus, best first. */
  contexts(g: number, e: number): ContextRef[] {
    const K = this.header.contextsPerExpert;
    const at = (g * this.cells + e) * K;
    const tokens = this.readU32("contextToken", at, K);
    const scores = this.readU16("contextScore", at, K);
    const out: ContextRef[] = [];
    for (let k = 0; k < K; k++) {
      if (scores[k] === 0) break;
      const ref = tokens[k]!;
      if (ref >= this.header.tokens) throw this.damaged(`token reference ${ref} out of range`);
      const file = this.readU32("tokenFile", ref, 1)[0]!;
      const start = this.readU32("tokenStart", ref, 1)[0]!;
      const length = this.readU16("tokenLength", ref, 1)[0]!;
      const f = this.header.files[file];
      if (!f) throw this.damaged(`file reference ${file} out of range`);
      out.push({
        path: f[0],
        sha256: f[1],
        span: [start, start + length],
        score: dequantizeScore(scores[k]!),
      });
    }
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }

  private get cells(): number {
    return this.header.model.moeExperts ** 2;
  }

  private damaged(why: string): ExpertStatsError {
    return new ExpertStatsError(
      `${this.path}: the expert statistics are damaged (${why}); rebuild the atlas`,
    );
  }

  private read(name: keyof ExpertStatsHeader["sections"], byteOffset: number, bytes: number): Buffer {
    const sec = this.header.sections[name];
    if (byteOffset < 0 || byteOffset + bytes > sec.bytes) throw new RangeError(`${name}: read out of range`);
    const buf = Buffer.alloc(bytes);
    const n = readSync(this.fd, buf, 0, bytes, sec.offset + byteOffset);
    if (n !== bytes) throw this.damaged(`${name} is truncated`);
    return buf;
  }

  private readU16(name: keyof ExpertStatsHeader["sections"], index: number, count: number): Uint16Array {
    const b = this.read(name, index * 2, count * 2);
    return new Uint16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  }

  private readU32(name: keyof ExpertStatsHeader["sections"], index: number, count: number): Uint32Array {
    const b = this.read(name, index * 4, count * 4);
    return new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  }
}

function readHeader(fd: number, path: string): ExpertStatsHeader {
  const fail = (why: string): never => {
    throw new ExpertStatsError(`${path}: not Monet Lens expert statistics (${why}); rebuild the atlas`);
  };
  const head = Buffer.alloc(12);
  if (readSync(fd, head, 0, 12, 0) !== 12 || head.subarray(0, 8).toString("ascii") !== STATS_MAGIC)
    fail("wrong magic bytes");
  const n = head.readUInt32LE(8);
  if (n > 64 << 20) fail("header too large");
  const buf = Buffer.alloc(n);
  if (readSync(fd, buf, 0, n, 12) !== n) fail("truncated header");
  let header: ExpertStatsHeader;
  try {
    header = JSON.parse(buf.toString("utf8")) as ExpertStatsHeader;
  } catch {
    return fail("header is not JSON");
  }
  if (header.format !== STATS_FORMAT) fail(`format ${String(header.format)}`);
  if (header.version !== STATS_VERSION)
    throw new ExpertStatsError(
      `${path}: expert statistics version ${String(header.version)}, but this Monet Lens reads version ${STATS_VERSION}; rebuild the atlas with monet-lens atlas build`,
    );
  if (
    header.quantization?.kind !== "log-u16" ||
    header.quantization.lnLo !== LN_LO ||
    header.quantization.step !== STEP
  )
    fail("unknown quantization");
  return header;
}
