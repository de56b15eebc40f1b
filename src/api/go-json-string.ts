/**
 * A string as Go's `encoding/json` writes it: HTML-safe escapes (`<`, `>`, `&`), U+2028/U+2029 escaped, and a lone
 * surrogate as U+FFFD (what Go's decoder already made of it). Hashes and annotations that upstream computes over
 * `json.Marshal` output must see the same bytes, so every Go-compatible encoder here uses this one.
 */
const HEX = '0123456789abcdef';

export function goJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) out += `\\u00${HEX[c >> 4]!}${HEX[c & 15]!}`;
    else if (c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16)}`;
    else if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(s.charCodeAt(i + 1))) {
      out += s[i]! + s[i + 1]!;
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) out += '\ufffd';
    else out += s[i]!;
  }
  return `${out}"`;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
