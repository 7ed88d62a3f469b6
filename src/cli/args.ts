// Option values checked, with errors that name the option (command.ts parses the command
// line itself).

/** A mistake in how the command was called: the usage is shown with the message. */
export class UsageError extends Error {}

export function intOption(v: string | undefined, name: string, def: number, min = 0): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
}

export function numberOption(
  v: string | undefined,
  name: string,
  def: number,
  min: number,
  max: number,
): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a number in [${min}, ${max}], got "${v}"`);
  return n;
}

export function choiceOption<C extends string>(
  v: string | undefined,
  name: string,
  choices: readonly C[],
  def: C,
): C {
  if (v === undefined) return def;
  if (!(choices as readonly string[]).includes(v))
    throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got "${v}"`);
  return v as C;
}
