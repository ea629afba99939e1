// `tide release publish git+URL[#branch]`: a git remote as a mirror (a Gitea or GitLab
// repository whose raw URLs hosts read). The remote's branch is checked out into a temp
// directory, planned and written like a directory mirror, then committed and pushed as one
// commit: a ref update is atomic, so a raw-URL reader sees the old tree or the new one, and
// never a pointer before its manifest and artifacts. Nothing is force-pushed: a remote that
// moved meanwhile refuses the push and nothing changes there.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TideError } from '../errors.js';
import { limits } from '../limits.js';
import type { MirrorPlan } from './publish-plan.js';
import { directoryTarget, type MirrorTarget } from './mirror-target.js';

/** `git+file:///srv/demo.git#pages` → the URL git understands and the branch (default main). */
export function parseGitMirror(mirror: string): { url: string; branch: string } {
  const [url = '', branch = 'main'] = mirror.slice('git+'.length).split('#', 2);
  if (url === '' || !/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(branch) || branch.includes('..')) {
    throw new TideError('usage', `expected a git mirror like git+https://forge.example/team/demo-mirror.git#main, got ${JSON.stringify(mirror)}`, { mirror });
  }
  return { url, branch };
}

function git(mirror: string, args: string[], cwd?: string): string {
  const env = {
    ...process.env,
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: process.env.GIT_AUTHOR_NAME ?? 'tide release publish',
    GIT_AUTHOR_EMAIL: process.env.GIT_AUTHOR_EMAIL ?? 'tide@localhost',
    GIT_COMMITTER_NAME: process.env.GIT_COMMITTER_NAME ?? 'tide release publish',
    GIT_COMMITTER_EMAIL: process.env.GIT_COMMITTER_EMAIL ?? 'tide@localhost',
  };
  const run = spawnSync('git', args, { cwd, env, encoding: 'utf8', timeout: limits.gitCommandTimeoutMs });
  if (run.error) throw new TideError('unreachable', `git ${args[0]} could not run: ${run.error.message}`, { mirror });
  if (run.status !== 0) {
    const why = (run.stderr || run.stdout).trim().split('\n').slice(-2).join(' ');
    throw new TideError('unreachable', `git ${args[0]} failed (exit ${run.status}): ${why}`, { mirror });
  }
  return run.stdout;
}

/** Check out the remote's branch (a new, empty branch when the remote has none) into a temp directory. */
export async function openGitMirror(mirror: string): Promise<MirrorTarget> {
  const { url, branch } = parseGitMirror(mirror);
  const checkout = mkdtempSync(join(tmpdir(), 'tide-git-mirror-'));
  try {
    const heads = git(mirror, ['ls-remote', '--heads', url, `refs/heads/${branch}`]);
    if (heads.trim() === '') {
      git(mirror, ['init', '--quiet', checkout]);
      git(mirror, ['checkout', '--quiet', '-b', branch], checkout);
    } else {
      git(mirror, ['clone', '--quiet', '--depth', '1', '--branch', branch, url, checkout]);
    }
  } catch (err) {
    rmSync(checkout, { recursive: true, force: true });
    throw err;
  }
  const files = directoryTarget(mirror, checkout);
  return {
    ...files,
    finish: async (plan) => ({ commit: commitAndPush(mirror, url, branch, checkout, plan) }),
    close: () => rmSync(checkout, { recursive: true, force: true }),
  };
}

/** One commit with every file of the plan, pushed to the branch; null when nothing changed. */
function commitAndPush(mirror: string, url: string, branch: string, checkout: string, plan: MirrorPlan): string | null {
  if (plan.copy.length === 0) return null;
  git(mirror, ['add', '--all', '--', ...new Set(plan.copy.map((f) => f.path.split('/')[0]!))], checkout);
  const pointers = plan.copy.filter((f) => f.stage === 'pointer' && !f.path.endsWith('.asc')).map((f) => f.path);
  const subject = `tide release publish: ${plan.copy.length} file(s)${pointers.length ? `, ${pointers.join(', ')}` : ''}`;
  git(mirror, ['commit', '--quiet', '--no-verify', '-m', subject], checkout);
  const commit = git(mirror, ['rev-parse', 'HEAD'], checkout).trim();
  // Not forced: if the branch moved since the checkout, the push is refused and the remote keeps what it had.
  git(mirror, ['push', '--quiet', url, `HEAD:refs/heads/${branch}`], checkout);
  return commit;
}
