// onnxruntime-node, with its telemetry switched off first (./ort-privacy.ts). Every module and
// test that uses onnxruntime imports it from here; test/reliability/privacy.test.ts checks that
// no other file imports "onnxruntime-node" directly.
import "./ort-privacy";

export * from "onnxruntime-node";
