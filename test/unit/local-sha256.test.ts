// localSha256 reads a file into one reused 4 MiB buffer: the digest must be the file's whatever its size falls on
// (empty, inside one read, exactly a read, across reads), and a missing file is an error, not a hash.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { localSha256 } from '../../src/runner/actions.js';

const dir = mkdtempSync(join(tmpdir(), 'local-sha256-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it.each([0, 1, 4 * 1024 * 1024, 4 * 1024 * 1024 + 1, 9 * 1024 * 1024 + 17])('the sha256 of a %i-byte file', async (size) => {
  const bytes = randomBytes(size);
  const file = join(dir, `f-${size}`);
  writeFileSync(file, bytes);
  expect(await localSha256(file)).toBe(createHash('sha256').update(bytes).digest('hex'));
});

it('a missing file rejects', async () => {
  await expect(localSha256(join(dir, 'absent'))).rejects.toThrow(/ENOENT/);
});
