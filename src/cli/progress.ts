// Conversion progress and engine notes on stderr, so stdout stays machine-readable.
export function progressLogger(enabled: boolean) {
  let last = -1;
  return {
    log: (line: string) => process.stderr.write(`${line}\n`),
    onProgress: (done: number, total: number, what: string) => {
      const pct = Math.floor((100 * done) / total);
      if (!enabled || pct === last) return;
      last = pct;
      process.stderr.write(`\rconverting: ${pct}% (${what})${done === total ? "\n" : ""}`);
    },
  };
}
