// A secrets file inside a git work tree that does not ignore it is one `git add .` away from a leaked cluster: the
// CLI warns (it never edits the user's .gitignore). git itself answers "is it ignored" (nested .gitignore files,
// info/exclude, core.excludesFile); without git on this machine there is nothing to warn about.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The work tree's top directory when `file` lies inside one and git does not ignore it; otherwise undefined. */
export function unignoredInGit(file: string): string | undefined {
  let d = dirname(file);
  for (;;) {
    if (existsSync(join(d, '.git'))) break;
    const up = dirname(d);
    if (up === d) return undefined;
    d = up;
  }
  // exit 0: ignored; 1: not ignored; 128: not a work tree after all (or git failed): say nothing
  const r = spawnSync('git', ['-C', dirname(file), 'check-ignore', '-q', '--', file], { stdio: 'ignore', timeout: 10_000 });
  return r.status === 1 ? d : undefined;
}
