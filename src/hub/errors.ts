/**
 * The one error type of the Hub module. The message says what went wrong and what the user
 * can do about it, so it can be shown as is (CLI, status bar, notification).
 */
export class HubError extends Error {
  override readonly name = "HubError";

  constructor(
    message: string,
    /** What kind of failure, for callers that react differently (e.g. offer a token prompt). */
    readonly kind:
      | "not-found"
      | "unauthorized"
      | "not-cached"
      | "checksum"
      | "disk-space"
      | "cancelled"
      | "network"
      | "bad-reference" = "network",
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
