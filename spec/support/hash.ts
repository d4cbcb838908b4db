/** SHA-256 (hex) of a buffer, or of buffers taken in order: how tests check bytes end to end. */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

export function sha256(data: Buffer | readonly Buffer[]): string {
  const hash = createHash('sha256');
  for (const part of Array.isArray(data) ? data : [data as Buffer]) hash.update(part);
  return hash.digest('hex');
}

/** Reads a stream to its end: the sha256 (hex) and length of what came (no copy kept). */
export async function drain(stream: Readable): Promise<{ hash: string; length: number }> {
  const hash = createHash('sha256');
  let length = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    length += (chunk as Buffer).length;
  }
  return { hash: hash.digest('hex'), length };
}
