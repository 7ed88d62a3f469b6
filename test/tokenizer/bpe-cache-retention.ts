// Child process of bpe-cache-memory.test.ts (it needs --expose-gc): encodes `count` prompts of
// about 8,000 characters, each ending in a word of its own (so each adds a cache entry), and prints
// how much the V8 heap grew once they are garbage, in bytes.
import { SentencePieceTokenizer } from "../../src/tokenizer/tokenizer";

const [modelPath, countArg] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (!modelPath || !gc)
  throw new Error("usage: node --expose-gc --import tsx bpe-cache-retention.ts MODEL COUNT");
const tokenizer = SentencePieceTokenizer.fromFile(modelPath);
const body = "def handler(request):\n    return respond(request.body)\n".repeat(150);
tokenizer.encode(body); // the body's own segments are cached before the measurement
gc();
const before = process.memoryUsage().heapUsed;
for (let i = 0; i < Number(countArg); i++) tokenizer.encode(`${body}value = compute_identifier_${i}_x\n`);
gc();
console.log(process.memoryUsage().heapUsed - before);
