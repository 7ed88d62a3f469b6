// Reading a built ONNX graph back: its nodes with those of every subgraph (If branches), and an
// integer attribute. For tools that inspect or rewire a converted model (the GPU check's
// dense-decode variant, the tests of what the converter wrote).
import type { GraphProto, NodeProto } from "onnx-buf";

/** Nodes of the graph and of its subgraphs (If branches), depth first. */
export function allNodes(graph: GraphProto): NodeProto[] {
  const out: NodeProto[] = [];
  const visit = (g: GraphProto) => {
    for (const n of g.node) {
      out.push(n);
      for (const a of n.attribute) {
        if (a.g) visit(a.g);
        for (const sub of a.graphs) visit(sub);
      }
    }
  };
  visit(graph);
  return out;
}

/** An INT attribute of a node, if it has it. */
export function intAttr(n: NodeProto, name: string): bigint | undefined {
  return n.attribute.find((a) => a.name === name)?.i;
}
