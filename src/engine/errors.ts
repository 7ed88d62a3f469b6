// The engine's errors, for its callers (the CLI, the extension, the features on top): which
// failures are cancellations, which mean that the engine process died, and which that the
// engine cannot run.

/**
 * Work stopped because its caller asked (an AbortSignal: a newer keystroke, a Cancel
 * button, Ctrl-C). The one cancellation type: whoever stops on a signal throws this.
 */
export class CancelledError extends Error {
  override name = "CancelledError";
}

/** Throws CancelledError when `signal` has been aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined, message = "cancelled"): void {
  if (signal?.aborted) throw new CancelledError(message);
}

/** The engine process stopped (a crash, a kill, an unload) while a request was waiting on it. */
export class EngineCrashedError extends Error {}

/** The engine process stopped answering (stopped, frozen or stuck): the client's watchdog ended it. */
export class EngineHungError extends EngineCrashedError {}

/** The engine process sent a message that is not the protocol's: the client ended it. */
export class EngineProtocolError extends EngineCrashedError {}

/** The engine cannot run until the user does something (it failed to load, or was stopped). */
export class EngineUnavailableError extends Error {}

/**
 * A float16 graph gave non-finite logits (inf or NaN): an activation exceeded float16's range
 * (65,504). The engine answers it by switching to the float32 graph, never by sampling garbage.
 */
export class NonFiniteOutputError extends Error {
  override name = "NonFiniteOutputError";
}
