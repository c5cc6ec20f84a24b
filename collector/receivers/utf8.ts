/**
 * JSON bodies must be valid UTF-8: decoding leniently would store U+FFFD in place of the
 * bad bytes, a silently altered record. Valid text is decoded with a fatal TextDecoder
 * (the native check); for invalid text the offset of the first bad byte is found, so the
 * 400 can name it.
 */
const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class InvalidUtf8Error extends Error {
  constructor(readonly offset: number) {
    super(`the body is not valid UTF-8: invalid byte sequence at byte offset ${offset}`);
    this.name = 'InvalidUtf8Error';
  }
}

export function decodeUtf8(body: Uint8Array): string {
  try {
    return fatal.decode(body);
  } catch {
    throw new InvalidUtf8Error(firstInvalidByte(body));
  }
}

/** Offset of the first byte that starts no well-formed sequence (Unicode Table 3-7). */
export function firstInvalidByte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let need = 0;
    let lo = 0x80;
    let hi = 0xbf;
    if (b < 0x80) {
      i += 1;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0; // no overlongs
      if (b === 0xed) hi = 0x9f; // no surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f; // nothing past U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += need + 1;
  }
  return -1;
}
