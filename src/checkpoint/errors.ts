/**
 * The one error type of the checkpoint reader. `file` is the path the problem was found in;
 * the message starts with it and ends with what the user can do about it, so it can be
 * shown as is (status bar, CLI, logs).
 */
export class CheckpointError extends Error {
  override readonly name = "CheckpointError";

  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}
