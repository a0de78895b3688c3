// MurmurHash3 against reference vectors and against the murmurhash3js package unleash-client uses.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { murmurHash3 } from '../../src/evaluation/murmur.ts';
import { seededRandom } from './env.ts';

// unleash-client's own hash; it ships without types, so it is loaded through require.
const require = createRequire(import.meta.url);
const murmurhash3js = require('murmurhash3js') as { x86: { hash32(key: string, seed?: number): number } };

function randomString(random: () => number, maxCodeUnit: number): string {
  const length = Math.floor(random() * 40);
  let s = '';
  for (let i = 0; i < length; i++) s += String.fromCharCode(Math.floor(random() * maxCodeUnit));
  return s;
}

describe('murmurHash3 (x86, 32-bit)', () => {
  it('matches the reference test vectors', () => {
    const vectors: Array<[string, number, number]> = [
      ['', 0, 0],
      ['', 1, 0x514e28b7],
      ['', 0xffffffff, 0x81f16f39],
      ['\0\0\0\0', 0, 0x2362f9de],
      ['a', 0x9747b28c, 0x7fa09ea6],
      ['ab', 0x9747b28c, 0x74875592],
      ['abc', 0x9747b28c, 0xc84a62dd],
      ['abcd', 0x9747b28c, 0xf0478627],
      ['aaaa', 0x9747b28c, 0x5a97808a],
      ['Hello, world!', 0x9747b28c, 0x24884cba],
      ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
    ];
    for (const [key, seed, expected] of vectors)
      expect(murmurHash3(key, seed), `${key}/${seed}`).toBe(expected);
  });

  it('agrees with murmurhash3js on ASCII strings for both Unleash seeds', () => {
    const random = seededRandom(7);
    for (let i = 0; i < 3000; i++) {
      const key = randomString(random, 128);
      for (const seed of [0, 86028157])
        expect(murmurHash3(key, seed)).toBe(murmurhash3js.x86.hash32(key, seed));
    }
  });

  it('agrees with murmurhash3js on non-ASCII strings, surrogate pairs included', () => {
    const random = seededRandom(11);
    const fixed = ['ü', 'Ærøskøbing', '日本語ユーザー', 'user-😀', 'Ελληνικά', '\uffff\u0100\u00ff'];
    const keys = [...fixed, ...Array.from({ length: 3000 }, () => randomString(random, 0x10000))];
    for (const key of keys) {
      for (const seed of [0, 86028157])
        expect(murmurHash3(key, seed)).toBe(murmurhash3js.x86.hash32(key, seed));
    }
  });

  it('hashes the low byte of each UTF-16 code unit rather than UTF-8 bytes', () => {
    // U+00FC and U+01FC share a low byte, so the SDK buckets them together; UTF-8 would not.
    expect(murmurHash3('ü')).toBe(murmurHash3('\u01fc'));
    expect(murmurHash3('ü')).not.toBe(murmurHash3(Buffer.from('ü', 'utf8').toString('latin1')));
    // One hashed byte per code unit: an emoji counts as two.
    expect(murmurHash3('😀')).toBe(murmurHash3('\u003d\u0000'));
  });
});
