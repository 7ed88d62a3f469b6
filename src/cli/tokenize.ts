// `monet-lens tokenize`: the model's token ids for a text (BOS included).
import { join } from "node:path";
import { embeddedModelDir } from "../engine/model-paths";
import { SentencePieceTokenizer } from "../tokenizer/tokenizer";
import { parse, UsageError } from "./args";

export async function tokenizeCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    model: { type: "string" },
    text: { type: "string" },
    json: { type: "boolean" },
  });
  if (values.text === undefined) throw new UsageError("tokenize needs --text STR");
  const tokenizer = SentencePieceTokenizer.fromFile(
    join(values.model ?? embeddedModelDir(), "tokenizer.model"),
  );
  const ids = tokenizer.encode(values.text);
  if (values.json) console.log(JSON.stringify({ ids }));
  else console.log(ids.map((id) => `${id}\t${JSON.stringify(tokenizer.idToPiece(id))}`).join("\n"));
}
