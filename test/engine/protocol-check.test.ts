// The engine protocol's validators (src/engine/protocol-check.ts): every well-formed message of
// each type passes; malformed ones are refused with an error naming the field; thousands of
// mutated messages (fast-check) give a result or an error, never an exception.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { loadConfig } from "../../src/checkpoint/config";
import { DTYPE_CHOICES } from "../../src/engine/engine";
import { modelIdentity } from "../../src/engine/model-identity";
import { GRAPH_DTYPES } from "../../src/model/monet-graph";
import type { Request, Response } from "../../src/engine/protocol";
import {
  PROTOCOL_DTYPES,
  PROTOCOL_GRAPH_DTYPES,
  PROTOCOL_MAX_THREADS,
  parseHeartbeat,
  parseRequest,
  parseResponse,
} from "../../src/engine/protocol-check";
import { MAX_THREADS } from "../../src/engine/session";
import { DEMO_MODEL } from "../helpers/fixtures";
import { applyJson, jsonMutations, runs } from "../reliability/fuzz/mutate";

const config = loadConfig(DEMO_MODEL);
const steering = {
  experts: 512,
  groups: [
    { indices: [3, 70], scales: [0, 2] },
    { indices: [], scales: [] },
  ],
  label: "−python",
};

export const GOOD_REQUESTS: Request[] = [
  {
    type: "open",
    id: 1,
    params: { modelDir: "/models/m", ep: "cpu", dtype: "auto", cacheDir: undefined, threads: 4 },
  },
  {
    type: "generate",
    id: 2,
    params: {
      prompt: "def f():\n",
      maxTokens: 16,
      temperature: 0.7,
      topP: 0.9,
      seed: 7,
      stopStrings: ["\n\n"],
      stopTokens: [2],
      timeLimitMs: 800,
      ignoreEos: false,
      steering,
      structure: { kind: "block", indent: 4, tabSize: 4 },
    },
  },
  { type: "generate", id: 3, params: { ids: [1, 5, 9], maxTokens: 1, structure: { kind: "line" } } },
  { type: "cancel", id: 4, target: 2 },
  { type: "route", id: 5, text: "x = 1\n", steering: undefined },
  { type: "stats", id: 6 },
  { type: "close", id: 7 },
];

const T = 2;
const H = 4;
const E = 512;
const routing = () => Array.from({ length: 2 }, () => new Float32Array(T * H * E));
export const GOOD_RESPONSES: Response[] = [
  { type: "log", line: "converting" },
  { type: "progress", done: 1, total: 8, what: "layer 1" },
  { type: "provider", ep: "cpu", dtype: "float32", fallbacks: ["cuda: failed at run time"] },
  { type: "text", id: 2, text: "return" },
  {
    type: "opened",
    id: 1,
    info: {
      modelDir: DEMO_MODEL,
      ep: "cpu",
      fallbacks: [],
      convertedDir: "/cache/converted/x",
      dtype: "int4",
      config,
      identity: modelIdentity(DEMO_MODEL, "ab".repeat(32), config),
    },
  },
  {
    type: "generated",
    id: 2,
    result: {
      text: " 1",
      ids: [5, 9],
      promptTokens: 4,
      reusedTokens: 0,
      prefillMs: 3.5,
      decodeMs: 1,
      decodeTokensPerS: 2000,
      stopReason: "max-tokens",
    },
  },
  {
    type: "routed",
    id: 5,
    result: {
      ids: [5, 9],
      spans: [
        [0, 1],
        [1, 3],
      ],
      pieces: ["x", " ="],
      routing: { g1: routing(), g2: routing() },
      shape: { tokens: T, heads: H, experts: E, groups: 2 },
    },
  },
  { type: "closed", id: 7 },
  {
    type: "stats",
    id: 6,
    stats: {
      generations: 3,
      cancelled: 1,
      running: 0,
      maxRunning: 1,
      pendingCancels: 0,
      rss: 5e8,
      heapTotal: 4e7,
      heapUsed: 3e7,
      external: 2e7,
      arrayBuffers: 1e7,
    },
  },
  { type: "error", id: 0, message: "refused" },
];

describe("engine protocol validation", () => {
  it("accepts every well-formed message of each type, both ways", () => {
    for (const m of GOOD_REQUESTS) assert.deepEqual(parseRequest(m), { ok: true, value: m }, m.type);
    for (const m of GOOD_RESPONSES) assert.deepEqual(parseResponse(m), { ok: true, value: m }, m.type);
    assert.deepEqual(parseHeartbeat('{"busy":1,"stalledMs":20}'), {
      ok: true,
      value: { busy: 1, stalledMs: 20 },
    });
  });

  it("refuses malformed requests with an error naming the field (and the request's id when usable)", () => {
    const cases: Array<[unknown, RegExp, number?]> = [
      [null, /must be an object, not null/],
      [7, /must be an object, not 7/],
      ["generate", /must be an object, not a string/],
      [[], /must be an object, not an array/],
      [{}, /unknown request type undefined/],
      [{ type: "explode", id: 1 }, /unknown request type "explode"/],
      [{ type: "stats" }, /stats\.id must be an integer from 1/],
      [{ type: "stats", id: -3 }, /stats\.id must be an integer from 1/],
      [{ type: "stats", id: 1.5 }, /stats\.id must be an integer/],
      [{ type: "stats", id: 2, extra: true }, /unexpected field "extra"/, 2],
      [{ type: "cancel", id: 3, target: -1 }, /cancel\.target must be an integer from 1/, 3],
      [{ type: "generate", id: 4, params: null }, /generate\.params must be an object/, 4],
      [{ type: "generate", id: 4, params: { maxTokens: "5" } }, /params\.maxTokens must be an integer/, 4],
      [{ type: "generate", id: 4, params: { maxTokens: -1 } }, /params\.maxTokens/, 4],
      [{ type: "generate", id: 4, params: { maxTokens: 5, temperature: Number.NaN } }, /temperature/, 4],
      [{ type: "generate", id: 4, params: { maxTokens: 5, topP: 0 } }, /topP must be a finite number > 0/, 4],
      [{ type: "generate", id: 4, params: { maxTokens: 5, ids: [1, -2] } }, /params\.ids\[1\]/, 4],
      [{ type: "generate", id: 4, params: { maxTokens: 5, ids: "1,2" } }, /params\.ids must be an array/, 4],
      [
        { type: "generate", id: 4, params: { maxTokens: 5, stopStrings: Array(300).fill("x") } },
        /at most 256 items/,
        4,
      ],
      [
        { type: "generate", id: 4, params: { maxTokens: 5, structure: { kind: "tree" } } },
        /structure must be/,
        4,
      ],
      [
        { type: "generate", id: 4, params: { maxTokens: 5, steering: { experts: 4, groups: "all" } } },
        /steering\.groups must be an array/,
        4,
      ],
      [
        { type: "generate", id: 4, params: { maxTokens: 5, constructor: 1 } },
        /unexpected field "constructor"/,
        4,
      ],
      [{ type: "route", id: 5, text: 42 }, /route\.text must be a string, not 42/, 5],
      [{ type: "open", id: 1, params: { threads: 100000 } }, /threads must be an integer from 1 to 256/, 1],
      [{ type: "open", id: 1, params: { ep: "tpu" } }, /ep must be one of auto, cuda, webgpu, cpu/, 1],
      [{ type: "open", id: 1, params: { modelDir: "/a\0b" } }, /modelDir must not contain NUL/, 1],
      [Object.assign(Object.create({ polluted: true }), { type: "stats", id: 1 }), /must be an object/],
    ];
    for (const [raw, error, id] of cases) {
      const r = parseRequest(raw);
      assert.equal(r.ok, false, JSON.stringify(raw));
      if (r.ok) continue;
      assert.match(r.error, error);
      assert.equal(r.id, id, `${r.error}: id`);
    }
  });

  it("refuses malformed messages from the engine", () => {
    const routed = GOOD_RESPONSES.find((m) => m.type === "routed")!;
    const shortRouting = structuredClone(routed) as { result: { routing: { g1: Float32Array[] } } };
    shortRouting.result.routing.g1[0] = new Float32Array(3);
    const cases: Array<[unknown, RegExp]> = [
      [{ type: "generated", id: 2, result: { text: 42 } }, /result\.text must be a string/],
      [{ type: "text", id: -1, text: "x" }, /text\.id must be an integer from 1/],
      [{ type: "surprise", id: 1 }, /unknown message from the engine type "surprise"/],
      [{ type: "error", id: 2, message: { toString: 1 } }, /message must be a string/],
      [shortRouting, /a routing array has 3 values, not T·H·E = 4096/],
      [{ ...routed, result: { ...(routed as { result: object }).result, ids: [1] } }, /shape\.tokens \(2\)/],
      [{ type: "stats", id: 6, stats: { rss: "big" } }, /stats\.generations must be an integer/],
      [{ type: "progress", done: 1, total: 2, what: "x", sneaky: 1 }, /unexpected field "sneaky"/],
      [
        { type: "provider", ep: "cpu", dtype: "auto", fallbacks: [] },
        /dtype must be one of float32, float16, int8, int4/,
      ],
      [{ type: "provider", ep: "cpu", fallbacks: [] }, /dtype/],
    ];
    for (const [raw, error] of cases) {
      const r = parseResponse(raw);
      assert.equal(r.ok, false, JSON.stringify(raw));
      if (!r.ok) assert.match(r.error, error);
    }
    for (const line of ["", "beat", "[]", '{"busy":-1,"stalledMs":0}', '{"busy":0}', "x".repeat(500)])
      assert.equal(parseHeartbeat(line).ok, false, line);
  });

  it("mutated messages (fast-check): a result or an error, never an exception", () => {
    let refused = 0;
    let total = 0;
    const good = [...GOOD_REQUESTS, ...GOOD_RESPONSES];
    fc.assert(
      fc.property(
        fc.nat(good.length - 1),
        jsonMutations(["type", "id", "params", "result", "text"]),
        (i, muts) => {
          let m: unknown;
          try {
            m = applyJson(good[i]!, muts);
          } catch {
            return fc.pre(false); // the mutator cannot delete a typed array's element: not a case
          }
          total++;
          const a = parseRequest(m);
          const b = parseResponse(m);
          if (!a.ok && !b.ok) refused++;
          assert.ok(a.ok || typeof a.error === "string");
          assert.ok(b.ok || typeof b.error === "string");
        },
      ),
      { numRuns: runs(3000) },
    );
    fc.assert(
      fc.property(fc.anything({ withTypedArray: true, withNullPrototype: true, withBigInt: true }), (v) => {
        parseRequest(v);
        parseResponse(v);
      }),
      { numRuns: runs(2000) },
    );
    assert.ok(refused > total / 2, `${refused} of ${total} mutated messages refused`);
  });

  it("repeats the engine's dtype list and thread bound exactly (the client may not import them)", () => {
    assert.deepEqual([...PROTOCOL_DTYPES], [...DTYPE_CHOICES]);
    assert.deepEqual([...PROTOCOL_GRAPH_DTYPES], [...GRAPH_DTYPES]);
    assert.equal(PROTOCOL_MAX_THREADS, MAX_THREADS);
  });
});
