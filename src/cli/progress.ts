// A download progress bar on a terminal (cli-progress), nothing in logs or pipes.
import type { CliContext } from './context.js';
import type { ProgressListener } from '../mirror/mirror-client.js';
import { createRequire } from 'node:module';

type SingleBar = import('cli-progress').SingleBar;

export function progressBarFor(cli: CliContext): ((path: string, total: number) => ProgressListener | undefined) | undefined {
  if (!process.stderr.isTTY || cli.quiet || cli.logFormat === 'json') return undefined;
  // Loaded only on a terminal: logs and timers never pay for it.
  const { SingleBar, Presets } = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
  let active: SingleBar | undefined;
  // A download that fails before its last byte never completes its bar: stop it on the way out,
  // so the terminal gets its cursor and line wrapping back.
  process.once('exit', () => active?.stop());
  return (path, total) => {
    active?.stop();
    const bar = new SingleBar({ format: `  ${path} [{bar}] {percentage}% {value}/{total} bytes`, stream: process.stderr, hideCursor: true }, Presets.shades_classic);
    active = bar;
    bar.start(total, 0);
    return (bytes) => {
      bar.update(bytes);
      if (bytes >= total) {
        bar.stop();
        if (active === bar) active = undefined;
      }
    };
  };
}
