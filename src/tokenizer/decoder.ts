// Ids → text the way sentencepiece's `DecodeIds` does it (sentencepiece_processor.cc
// `Decode`), in one go or as a stream. Runs of byte pieces (<0xNN>) are assembled into bytes
// and decoded as UTF-8 with sentencepiece's own rules, which differ from TextDecoder: each
// byte that does not start a valid character becomes one U+FFFD.

/** What the decoder needs to know about each id. */
export interface PieceSurfaces {
  /** The byte a `<0xNN>` piece stands for, or -1 for any other piece. */
  byteOf(id: number): number;
  /**
   * The text of a non-byte piece: "" for control pieces, the unk surface for `<unk>`, else
   * the piece with '▁' as ' ', a leading '▁' dropped when `atStart` (sentencepiece's
   * `is_bos_ws`, only for models with add_dummy_prefix or remove_extra_whitespaces).
   */
  surface(id: number, atStart: boolean): string;
  /**
   * Whether surface(id, true) dropped a '▁' that ends the start of the text (`has_bos_ws`):
   * with remove_extra_whitespaces it never does, so every leading '▁' piece is dropped.
   */
  endsStart(id: number): boolean;
}

export interface StreamDecoderOptions {
  /**
   * Drop the space of a leading '▁' at the start of the text, as decode() does (for the
   * dummy prefix). Default true; pass false when decoding a continuation generated after a
   * prompt.
   */
  stripLeadingSpace?: boolean;
}

export interface StreamDecoder {
  /** Adds one id; returns the text that became final (possibly ""). */
  push(id: number): string;
  /** Ends the stream: returns what is left, with incomplete byte sequences as U+FFFD. */
  flush(): string;
}

const REPLACEMENT = "\ufffd";

/** Length of the UTF-8 sequence a lead byte announces; 1 for bytes that cannot lead one. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if ((lead & 0xe0) === 0xc0) return 2;
  if ((lead & 0xf0) === 0xe0) return 3;
  if ((lead & 0xf8) === 0xf0) return 4;
  return 1;
}

function isTrail(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

/**
 * string_util::DecodeUTF8: the code point of the valid character at `bytes[pos]`, and its
 * length; or [-1, 1] when the sequence there is invalid (bad or missing trail bytes,
 * overlong form, surrogate, beyond U+10FFFF).
 */
function decodeCharAt(bytes: readonly number[], pos: number): [number, number] {
  const b0 = bytes[pos];
  const n = sequenceLength(b0);
  if (n === 1) return b0 < 0x80 ? [b0, 1] : [-1, 1];
  if (pos + n > bytes.length) return [-1, 1];
  for (let k = 1; k < n; k++) if (!isTrail(bytes[pos + k])) return [-1, 1];
  let cp: number;
  let min: number;
  if (n === 2) {
    cp = ((b0 & 0x1f) << 6) | (bytes[pos + 1] & 0x3f);
    min = 0x80;
  } else if (n === 3) {
    cp = ((b0 & 0x0f) << 12) | ((bytes[pos + 1] & 0x3f) << 6) | (bytes[pos + 2] & 0x3f);
    min = 0x800;
  } else {
    cp =
      ((b0 & 0x07) << 18) |
      ((bytes[pos + 1] & 0x3f) << 12) |
      ((bytes[pos + 2] & 0x3f) << 6) |
      (bytes[pos + 3] & 0x3f);
    min = 0x10000;
  }
  const valid = cp >= min && (cp < 0xd800 || (cp >= 0xe000 && cp <= 0x10ffff));
  return valid ? [cp, n] : [-1, 1];
}

/** Decodes a complete run of byte pieces (ProcessBytePieces). */
function decodeByteRun(bytes: readonly number[]): string {
  let out = "";
  for (let pos = 0; pos < bytes.length; ) {
    const [cp, n] = decodeCharAt(bytes, pos);
    out += cp < 0 ? REPLACEMENT : String.fromCodePoint(cp);
    pos += n;
  }
  return out;
}

/**
 * DecodeIds. The start of the text (`is_bos_ws`, where a leading '▁' is dropped) lasts
 * while the text is empty and no '▁' has been dropped yet (with remove_extra_whitespaces,
 * dropping one does not end it): [▁, ▁a] gives " a", [<s>, ▁a] gives "a", [<0x20>, ▁a]
 * gives "  a" (bytes are decoded before the next piece).
 */
export function decodeIds(ids: readonly number[], surfaces: PieceSurfaces): string {
  let text = "";
  let run: number[] = [];
  let atStart = true;
  let startEnded = false;
  for (const id of ids) {
    const byte = surfaces.byteOf(id);
    if (byte >= 0) {
      run.push(byte);
      continue;
    }
    if (run.length > 0) {
      text += decodeByteRun(run);
      run = [];
    }
    if (startEnded || text.length > 0) atStart = false;
    text += surfaces.surface(id, atStart);
    startEnded = atStart && surfaces.endsStart(id);
  }
  return text + decodeByteRun(run);
}

/**
 * Streaming DecodeIds. Pending bytes are released as soon as the character they start is
 * decided: complete and valid, or proven invalid by a byte that cannot continue it. The
 * concatenated output equals decodeIds() of the same ids, because sentencepiece decides each
 * character of a byte run from that character's own bytes only.
 */
export function createStreamDecoder(
  surfaces: PieceSurfaces,
  options: StreamDecoderOptions = {},
): StreamDecoder {
  const pending: number[] = [];
  let atStart = options.stripLeadingSpace ?? true;
  let startEnded = false;
  let emittedAny = false;

  const release = (final: boolean): string => {
    let out = "";
    let pos = 0;
    while (pos < pending.length) {
      const n = sequenceLength(pending[pos]);
      if (!final && pos + n > pending.length) {
        let couldComplete = true;
        for (let k = pos + 1; k < pending.length; k++) if (!isTrail(pending[k])) couldComplete = false;
        if (couldComplete) break; // wait for the rest of the character
      }
      const [cp, used] = decodeCharAt(pending, pos);
      out += cp < 0 ? REPLACEMENT : String.fromCodePoint(cp);
      pos += used;
    }
    pending.splice(0, pos);
    if (out.length > 0) emittedAny = true;
    return out;
  };

  return {
    push(id: number): string {
      const byte = surfaces.byteOf(id);
      if (byte >= 0) {
        pending.push(byte);
        return release(false);
      }
      const bytes = release(true);
      if (startEnded || emittedAny) atStart = false;
      const text = surfaces.surface(id, atStart);
      startEnded = atStart && surfaces.endsStart(id);
      if (text.length > 0) emittedAny = true;
      return bytes + text;
    },
    flush(): string {
      return release(true);
    },
  };
}
