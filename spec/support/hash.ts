/** SHA-256 (hex) of a buffer, or of buffers taken in order: how tests check bytes end to end. */
import { createHash } from 'node:crypto';

export function sha256(data: Buffer | readonly Buffer[]): string {
  const hash = createHash('sha256');
  for (const part of Array.isArray(data) ? data : [data as Buffer]) hash.update(part);
  return hash.digest('hex');
}
