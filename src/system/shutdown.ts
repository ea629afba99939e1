// Is the host shutting down? Asked when tide gets SIGTERM: a SIGTERM from an operator
// (`systemctl stop`, Ctrl-C) means "undo the step in progress", but the one PID 1 sends
// while the system stops must not start a rollback: the app and nginx are being stopped
// too, and PID 1 refuses to start units then, so the rollback would fail and be recorded
// as rollback-failed. tide leaves the pending marker instead; `tide verify` settles it
// at the next boot (SPEC install.md#shutdown-while-tide-runs).
import { limits } from '../limits.js';
import { lastLine, type ProcessRunner } from './process-runner.js';

/** `systemctl is-system-running` says `stopping` (any other answer, or none: not stopping). */
export async function systemIsStopping(runner: ProcessRunner, systemctl: string[] = ['systemctl']): Promise<boolean> {
  const result = await runner.run([...systemctl, 'is-system-running'], { timeoutMs: limits.probeAttemptTimeoutMs });
  return !result.timedOut && lastLine(result.stdout) === 'stopping';
}
