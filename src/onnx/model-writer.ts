// Serialises a built graph into an ONNX ModelProto file.
import { create, toBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema, OperatorSetIdProtoSchema, StringStringEntryProtoSchema } from "onnx-buf";
import { writeFileSync } from "node:fs";
import type { GraphBuilder } from "./graph-builder";

/** onnxruntime-node 1.29/1.30 read IR ≤ 13 and opset ≤ 26; these are well inside. */
export const IR_VERSION = 10;
export const OPSET = 21;

export function serializeModel(graph: GraphBuilder, metadata: Record<string, string> = {}): Uint8Array {
  const model = create(ModelProtoSchema, {
    irVersion: BigInt(IR_VERSION),
    producerName: "monet-lens",
    opsetImport: [
      create(OperatorSetIdProtoSchema, { domain: "", version: BigInt(OPSET) }),
      create(OperatorSetIdProtoSchema, { domain: "com.microsoft", version: 1n }),
    ],
    metadataProps: Object.entries(metadata).map(([key, value]) =>
      create(StringStringEntryProtoSchema, { key, value }),
    ),
    graph: graph.build(),
  });
  return toBinary(ModelProtoSchema, model);
}

export function writeModel(path: string, graph: GraphBuilder, metadata: Record<string, string> = {}): void {
  writeFileSync(path, serializeModel(graph, metadata));
}
