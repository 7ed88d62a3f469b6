// Switches off onnxruntime's telemetry. It must run before onnxruntime-node is loaded:
// onnxruntime reads these variables once, when its environment is created, and never again
// (onnxruntime/core/platform/posix/telemetry.cc, PosixTelemetry::Initialize). Imported only by
// ./ort.ts, which every other module uses instead of "onnxruntime-node".
//
// onnxruntime 1.29 and 1.30 on Linux and macOS otherwise create
// ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ with a persistent device id and an event
// queue (onnxruntime.db) that it uploads: session creation events name the model's producer,
// graph and weight hashes. SECURITY.md says what remains.

/** ORT_DISABLE_TELEMETRY (1.29, 1.30: docs/Privacy.md, "Disabling Telemetry") and its later spelling. */
export const ORT_TELEMETRY_OFF: Readonly<Record<string, string>> = {
  ORT_DISABLE_TELEMETRY: "1",
  ORT_TELEMETRY_DISABLED: "1",
};

// Assigning process.env calls setenv(), which the native library's getenv() sees.
for (const [name, value] of Object.entries(ORT_TELEMETRY_OFF)) process.env[name] = value;
