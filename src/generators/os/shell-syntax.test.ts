// Every script that renderCluster produces, for every valid fixture, parses under dash (POSIX sh, Debian's /bin/sh)
// and bash (RHEL's /bin/sh) without running it. (`sh -n` does not catch bashisms: scripts.test.ts runs the OS scripts
// for real under dash too.)
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { outputPath, renderCluster } from '../index.js';
import { loadFixture, testInputs, validFixtureNames } from '../../../test/support/fixtures.js';

describe.each(validFixtureNames())('shell syntax on fixture %s', (name) => {
  const scripts = renderCluster(loadFixture(name), testInputs()).filter((f) => f.content.startsWith('#!'));

  it('has OS scripts to check', () => {
    expect(scripts.filter((f) => f.generator === 'os').length).toBeGreaterThan(0);
  });

  for (const shell of ['sh', 'bash']) {
    it(`${shell} -n accepts every script`, () => {
      const failures = scripts
        .map((f) => ({ path: outputPath(f), r: spawnSync(shell, ['-n'], { input: f.content, encoding: 'utf8' }) }))
        .filter(({ r }) => r.status !== 0)
        .map(({ path, r }) => `${path}: ${r.stderr.trim()}`);
      expect(failures).toEqual([]);
    });
  }
});

