// xxHash32, the checksum of the LZ4 frame format (its header byte, block and content checksums).

const PRIME1 = 2654435761;
const PRIME2 = 2246822519;
const PRIME3 = 3266489917;
const PRIME4 = 668265263;
const PRIME5 = 374761393;

function rotateLeft(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

function readUint32LE(data: Uint8Array, at: number): number {
  return (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
}

function round(accumulator: number, lane: number): number {
  return Math.imul(rotateLeft((accumulator + Math.imul(lane, PRIME2)) | 0, 13), PRIME1);
}

/** The unsigned xxHash32 of `data[start, end)`. */
export function xxhash32(data: Uint8Array, seed = 0, start = 0, end = data.length): number {
  let i = start;
  let hash: number;
  if (end - start >= 16) {
    let v1 = (seed + PRIME1 + PRIME2) | 0;
    let v2 = (seed + PRIME2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME1) | 0;
    const stripesEnd = end - 16;
    while (i <= stripesEnd) {
      v1 = round(v1, readUint32LE(data, i));
      v2 = round(v2, readUint32LE(data, i + 4));
      v3 = round(v3, readUint32LE(data, i + 8));
      v4 = round(v4, readUint32LE(data, i + 12));
      i += 16;
    }
    hash = (rotateLeft(v1, 1) + rotateLeft(v2, 7) + rotateLeft(v3, 12) + rotateLeft(v4, 18)) | 0;
  } else {
    hash = (seed + PRIME5) | 0;
  }
  hash = (hash + (end - start)) | 0;
  while (i + 4 <= end) {
    hash = Math.imul(rotateLeft((hash + Math.imul(readUint32LE(data, i), PRIME3)) | 0, 17), PRIME4);
    i += 4;
  }
  while (i < end) {
    hash = Math.imul(rotateLeft((hash + Math.imul(data[i]!, PRIME5)) | 0, 11), PRIME1);
    i++;
  }
  hash ^= hash >>> 15;
  hash = Math.imul(hash, PRIME2);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, PRIME3);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
