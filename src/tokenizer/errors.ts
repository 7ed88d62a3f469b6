/**
 * The one error type of the tokenizer. `file` names the tokenizer file (or the name the
 * caller gave a buffer); the message starts with it and ends with what the user can do
 * about it, so it can be shown as is (status bar, CLI, logs).
 */
export class TokenizerError extends Error {
  override readonly name = "TokenizerError";

  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}
