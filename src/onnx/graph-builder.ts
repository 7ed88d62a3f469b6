// A small, typed builder for ONNX graphs on top of the ready-made ONNX protobuf
// definitions of `onnx-buf`. It knows nothing about Monet: the model maths lives in
// src/model/, this file only turns nodes, tensors and subgraphs into protobuf.
import { create } from "@bufbuild/protobuf";
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType,
  GraphProtoSchema,
  NodeProtoSchema,
  StringStringEntryProtoSchema,
  TensorProtoSchema,
  TensorProto_DataLocation,
  TensorProto_DataType,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type GraphProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from "onnx-buf";
import type { ExternalDataWriter } from "./external-data";

export type ElemType = "float32" | "float16" | "int64" | "int32" | "bool" | "uint8";
export type Dim = number | string;

const ELEM: Record<ElemType, TensorProto_DataType> = {
  float32: TensorProto_DataType.FLOAT,
  float16: TensorProto_DataType.FLOAT16,
  int64: TensorProto_DataType.INT64,
  int32: TensorProto_DataType.INT32,
  bool: TensorProto_DataType.BOOL,
  uint8: TensorProto_DataType.UINT8,
};

/** Tensors above this many bytes go to the external-data file, smaller ones inline. */
const INLINE_LIMIT = 1024;

/** An attribute value: numbers are INT unless wrapped with `f()`; use `floats()` for float lists. */
export type Attr =
  | number
  | string
  | number[]
  | { kind: "float"; value: number }
  | { kind: "floats"; value: number[] }
  | { kind: "graph"; value: GraphProto };

export const f = (value: number): Attr => ({ kind: "float", value });
export const floats = (value: number[]): Attr => ({ kind: "floats", value });

function attribute(name: string, v: Attr): AttributeProto {
  if (typeof v === "number") {
    if (!Number.isInteger(v))
      throw new Error(`attribute ${name}: ${v} is not an integer; wrap floats with f()`);
    return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(v) });
  }
  if (typeof v === "string") {
    return create(AttributeProtoSchema, {
      name,
      type: AttributeProto_AttributeType.STRING,
      s: new TextEncoder().encode(v),
    });
  }
  if (Array.isArray(v)) {
    return create(AttributeProtoSchema, {
      name,
      type: AttributeProto_AttributeType.INTS,
      ints: v.map((x) => BigInt(x)),
    });
  }
  switch (v.kind) {
    case "float":
      return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f: v.value });
    case "floats":
      return create(AttributeProtoSchema, {
        name,
        type: AttributeProto_AttributeType.FLOATS,
        floats: v.value,
      });
    case "graph":
      return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.GRAPH, g: v.value });
  }
}

export function valueInfo(name: string, elem: ElemType, shape: Dim[]): ValueInfoProto {
  const dim = shape.map((d) =>
    create(TensorShapeProto_DimensionSchema, {
      value: typeof d === "number" ? { case: "dimValue", value: BigInt(d) } : { case: "dimParam", value: d },
    }),
  );
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: "tensorType",
        value: create(TypeProto_TensorSchema, {
          elemType: ELEM[elem],
          shape: create(TensorShapeProtoSchema, { dim }),
        }),
      },
    }),
  });
}

export type TensorData = Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;

function bytesOf(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * One ONNX graph (the main graph or an If branch). Node outputs get unique names from a
 * counter shared with subgraphs, so a branch can read any value of its parent by name.
 */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly inputs: ValueInfoProto[] = [];
  readonly outputs: ValueInfoProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly names: { next: number };
  private readonly constants = new Map<string, string>();
  /** The main graph: constants live there, visible to every branch by outer scope. */
  private readonly root: GraphBuilder;

  constructor(
    readonly name: string,
    private readonly weights?: ExternalDataWriter,
    parent?: GraphBuilder,
  ) {
    this.root = parent?.root ?? this;
    this.names = this.root === this ? { next: 0 } : this.root.names;
  }

  /** A branch graph for If/Loop: shares the name counter and the root's constants. */
  subgraph(name: string): GraphBuilder {
    return new GraphBuilder(name, this.weights, this);
  }

  fresh(hint: string): string {
    return `${hint}_${this.names.next++}`;
  }

  input(name: string, elem: ElemType, shape: Dim[]): string {
    this.inputs.push(valueInfo(name, elem, shape));
    return name;
  }

  /** Declares `value` as a graph output named `name` (an Identity is added when they differ). */
  output(value: string, name: string, elem: ElemType, shape: Dim[]): string {
    if (value !== name)
      this.nodes.push(
        create(NodeProtoSchema, {
          opType: "Identity",
          input: [value],
          output: [name],
          name: this.fresh("out"),
        }),
      );
    this.outputs.push(valueInfo(name, elem, shape));
    return name;
  }

  /** A weight tensor; large ones are appended to the external-data file. */
  weight(name: string, elem: ElemType, dims: number[], data: TensorData): string {
    const numel = dims.reduce((a, b) => a * b, 1);
    if (numel !== data.length) throw new Error(`tensor ${name}: ${data.length} values for shape [${dims}]`);
    const bytes = bytesOf(data);
    const t = create(TensorProtoSchema, { name, dims: dims.map((d) => BigInt(d)), dataType: ELEM[elem] });
    if (bytes.byteLength > INLINE_LIMIT && this.weights) {
      const { offset, length } = this.weights.append(bytes);
      t.dataLocation = TensorProto_DataLocation.EXTERNAL;
      t.externalData = [
        create(StringStringEntryProtoSchema, { key: "location", value: this.weights.location }),
        create(StringStringEntryProtoSchema, { key: "offset", value: String(offset) }),
        create(StringStringEntryProtoSchema, { key: "length", value: String(length) }),
      ];
    } else {
      t.rawData = new Uint8Array(bytes); // copy: the caller may reuse its buffer
    }
    this.initializers.push(t);
    return name;
  }

  /** A small constant, deduplicated by value; stored as an initializer of this graph. */
  constI64(values: number[], dims: number[] = [values.length]): string {
    return this.constant("int64", dims, BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  constF32(values: number[], dims: number[] = [values.length]): string {
    return this.constant("float32", dims, Float32Array.from(values));
  }

  /** A scalar-shaped constant ([]), broadcastable against anything. */
  scalarF32(v: number): string {
    return this.constF32([v], []);
  }

  /** A small constant of any element type from its raw values (float16 as IEEE half bits). */
  constant(elem: ElemType, dims: number[], data: TensorData): string {
    if (this.root !== this) return this.root.constant(elem, dims, data);
    const key = `${elem}|${dims.join(",")}|${Array.from(data as ArrayLike<number | bigint>).join(",")}`;
    const hit = this.constants.get(key);
    if (hit) return hit;
    const name = this.fresh("const");
    const t = create(TensorProtoSchema, {
      name,
      dims: dims.map((d) => BigInt(d)),
      dataType: ELEM[elem],
      rawData: new Uint8Array(bytesOf(data)),
    });
    this.initializers.push(t);
    this.constants.set(key, name);
    return name;
  }

  /** Adds a node with one output and returns the output's name. */
  op(
    opType: string,
    inputs: string[],
    attrs: Record<string, Attr> = {},
    opts: { domain?: string; name?: string } = {},
  ): string {
    return this.opN(opType, inputs, 1, attrs, opts)[0]!;
  }

  /** Adds a node with `n` outputs. An empty input name means an omitted optional input. */
  opN(
    opType: string,
    inputs: string[],
    n: number,
    attrs: Record<string, Attr> = {},
    opts: { domain?: string; name?: string } = {},
  ): string[] {
    const base = opts.name ?? this.fresh(opType);
    const outs = Array.from({ length: n }, (_, i) => (n === 1 ? `${base}_out` : `${base}_out${i}`));
    this.nodes.push(
      create(NodeProtoSchema, {
        opType,
        domain: opts.domain ?? "",
        name: base,
        input: inputs,
        output: outs,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outs;
  }

  /** `If(cond)`: each branch builder receives a subgraph and returns its output values. */
  ifThenElse(
    cond: string,
    n: number,
    then: (g: GraphBuilder) => string[],
    otherwise: (g: GraphBuilder) => string[],
  ): string[] {
    const branch = (label: string, body: (g: GraphBuilder) => string[]): GraphProto => {
      const g = this.subgraph(label);
      const outs = body(g);
      if (outs.length !== n)
        throw new Error(`If branch ${label} returned ${outs.length} values, expected ${n}`);
      // Branch outputs must be produced inside the branch: outer values (and repeats) go
      // through an Identity; values computed in the branch are output as they are (no copy).
      const produced = new Set(g.nodes.flatMap((node) => node.output));
      const named = outs.map((v) => {
        if (!produced.has(v)) return g.op("Identity", [v]);
        produced.delete(v);
        return v;
      });
      for (const v of named) g.outputs.push(create(ValueInfoProtoSchema, { name: v }));
      return g.build();
    };
    return this.opN("If", [cond], n, {
      then_branch: { kind: "graph", value: branch("then", then) },
      else_branch: { kind: "graph", value: branch("else", otherwise) },
    });
  }

  build(): GraphProto {
    return create(GraphProtoSchema, {
      name: this.name,
      node: this.nodes,
      input: this.inputs,
      output: this.outputs,
      initializer: this.initializers,
    });
  }
}
