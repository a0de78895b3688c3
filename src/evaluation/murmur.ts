// MurmurHash3 x86 32-bit, byte-for-byte what the Unleash SDKs bucket with.

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/**
 * Hashes the low byte of each UTF-16 code unit, not the UTF-8 encoding: that is what the
 * `murmurhash3js` package inside unleash-client does, so non-ASCII ids must bucket the same way.
 */
export function murmurHash3(key: string, seed = 0): number {
  const length = key.length;
  const tail = length & 3;
  const blocks = length - tail;
  let h = seed | 0;
  let k = 0;
  let i = 0;

  for (; i < blocks; i += 4) {
    k =
      (key.charCodeAt(i) & 0xff) |
      ((key.charCodeAt(i + 1) & 0xff) << 8) |
      ((key.charCodeAt(i + 2) & 0xff) << 16) |
      ((key.charCodeAt(i + 3) & 0xff) << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }

  if (tail > 0) {
    k = key.charCodeAt(i) & 0xff;
    if (tail > 1) k |= (key.charCodeAt(i + 1) & 0xff) << 8;
    if (tail > 2) k |= (key.charCodeAt(i + 2) & 0xff) << 16;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }

  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
