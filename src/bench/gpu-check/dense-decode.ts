// The dense-decode variant of a converted graph, to measure union-of-survivors decoding
// against all-experts decoding on a GPU without touching the converter.
//
// The converter chooses the expert path inside the graph, per routing group:
//   useAll = Or(all experts survive, Greater(Shape(x)[0:1], 8))   (8 = UNION_MAX_TOKENS)
// This file rewires the second input of each such Greater to a new constant 0, so every
// input, one decoding token included, runs over all experts. Both paths are exact, so the
// variant's logits must equal the original's (the check verifies it). A graph without that
// pattern (a converter change) gives a clear "unavailable" instead of a wrong variant.
// The weights stay in the converted folder's model.onnx.data: the variant is written beside
// it and names the same external-data file.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema, TensorProtoSchema, TensorProto_DataType } from "onnx-buf";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { allNodes, intAttr } from "../../onnx/graph-reader";

/** The token count above which the converter takes the all-experts path (monet-graph.ts). */
const UNION_MAX_TOKENS = 8n;
const THRESHOLD = "gpu_check.dense_decode_threshold";
const VARIANT_FILE = "model.dense-decode.onnx";

export class DenseDecodeUnavailable extends Error {}

/** Path of the dense-decode variant of `modelPath`, written on first use. */
export function denseDecodePath(modelPath: string): string {
  const out = join(dirname(modelPath), VARIANT_FILE);
  if (existsSync(out)) return out;
  const bytes = denseDecodeModel(readFileSync(modelPath), modelPath);
  const tmp = `${out}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, out);
  return out;
}

/** The rewritten model bytes; throws DenseDecodeUnavailable when the pattern is absent. */
export function denseDecodeModel(bytes: Uint8Array, source = "model.onnx"): Uint8Array {
  const model = fromBinary(ModelProtoSchema, bytes);
  const graph = model.graph;
  if (!graph) throw new DenseDecodeUnavailable(`${source}: no graph`);
  const int64Scalar = new Map<string, bigint>();
  for (const t of graph.initializer) {
    if (t.dataType === TensorProto_DataType.INT64 && t.rawData.byteLength === 8)
      int64Scalar.set(t.name, new DataView(t.rawData.buffer, t.rawData.byteOffset, 8).getBigInt64(0, true));
  }
  const tokenCount = new Set(
    allNodes(graph)
      .filter((n) => n.opType === "Shape" && intAttr(n, "start") === 0n && intAttr(n, "end") === 1n)
      .map((n) => n.output[0]),
  );
  let rewired = 0;
  for (const n of allNodes(graph)) {
    if (
      n.opType === "Greater" &&
      tokenCount.has(n.input[0]) &&
      int64Scalar.get(n.input[1] ?? "") === UNION_MAX_TOKENS
    ) {
      n.input[1] = THRESHOLD;
      rewired++;
    }
  }
  if (rewired === 0)
    throw new DenseDecodeUnavailable(
      `${source}: no Greater(token count, ${UNION_MAX_TOKENS}) node chooses the expert path; the converter changed, so the dense-decode variant needs a converter option instead`,
    );
  const zero = new Uint8Array(8);
  graph.initializer.push(
    create(TensorProtoSchema, {
      name: THRESHOLD,
      dims: [1n],
      dataType: TensorProto_DataType.INT64,
      rawData: zero,
    }),
  );
  return toBinary(ModelProtoSchema, model);
}
