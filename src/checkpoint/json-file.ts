// The small JSON files beside the weights (tokenizer_config.json, generation_config.json):
// optional, bounded in size, a JSON object, or a CheckpointError naming the file and the fix.
import { FileAccessError, readRegularTextAsync } from "../files/regular-file";
import { CheckpointError } from "./errors";

/** Published files are a few KB; a bound keeps a hostile one from filling memory. */
const MAX_BYTES = 16 << 20;

/** The file's object, or undefined when the file is absent. */
export async function readOptionalJsonObject(
  file: string,
  name: string,
): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readRegularTextAsync(file, { maxBytes: MAX_BYTES, what: name });
  } catch (e) {
    if (e instanceof FileAccessError && e.problem === "missing") return undefined;
    throw new CheckpointError(
      file,
      `cannot read ${name} (${e instanceof FileAccessError ? e.reason : (e as Error).message})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(file, `${name} is not valid JSON (${(e as Error).message}): re-download it`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new CheckpointError(file, `${name} must hold a JSON object: re-download it`);
  return json as Record<string, unknown>;
}
