// `monet-lens tokenize`: the model's token ids for a text (BOS included).
import { loadTokenizer } from "../engine/model-folder";
import { command } from "./command";
import { MODEL_OPTION, modelDirOrEmbedded } from "./engine-options";

export const tokenizeCommand = command({
  name: "tokenize",
  summary: "token ids of a text (BOS included)",
  options: {
    ...MODEL_OPTION,
    text: { type: "string", value: "STR", help: "the text", required: true },
    json: { type: "boolean", help: 'print {"ids": [...]}' },
  },
  run: tokenize,
});

async function tokenize(values: { model?: string; text?: string; json?: boolean }): Promise<void> {
  const text = values.text!;
  const tokenizer = await loadTokenizer(modelDirOrEmbedded(values.model));
  const ids = tokenizer.encode(text);
  if (values.json) console.log(JSON.stringify({ ids }));
  else console.log(ids.map((id) => `${id}\t${JSON.stringify(tokenizer.idToPiece(id))}`).join("\n"));
}
