// tide's entry point: global flags, then one command. Commands are loaded lazily
// so `tide status` does not pay for got and openpgp at start-up.
import { parseArgs } from 'node:util';
import { ExitCode, exitCodeOf, operatorLine, TideError } from '../errors.js';
import { createLogger } from '../log/logger.js';
import type { CliContext, Command, LogFormat } from './context.js';
import { stdoutFor, warningsAsJson } from './output.js';
import { installLastResort } from '../system/last-resort.js';

const commands: Record<string, () => Promise<{ command: Command }>> = {
  check: () => import('./commands/check.js'),
  update: () => import('./commands/update.js'),
  verify: () => import('./commands/verify.js'),
  rollback: () => import('./commands/rollback.js'),
  status: () => import('./commands/status.js'),
  history: () => import('./commands/history.js'),
  recover: () => import('./commands/recover.js'),
  daemon: () => import('./commands/daemon.js'),
  reconcile: () => import('./commands/reconcile.js'),
  release: () => import('./commands/release.js'),
};

const usage = `usage: tide <command> [options]
  check    [--channel C] [--from FILE] [--json]   is an update available?
  update   [--channel C] [--version V] [--force] [--from FILE] [--json]
  verify   [--json] [--hand-off-probation UNIT]   settle a pending update (run at boot)
  rollback [--json]                     back to the previous version, verified
  status   [--json]
  history  [--json]
  recover                               recreate missing containers of the current version
  daemon                                run checks and updates on [schedule], and the reconciler
  reconcile                             one reconciler pass: recreate vanished containers, adopt running ones
  release  keygen | build | sign | promote | revoke | publish | status | rotate-keys | export
global: --config PATH, --log-format text|json, --quiet, --verbose`;

export async function main(argv: string[]): Promise<number> {
  const global = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      'log-format': { type: 'string', default: 'text' },
      quiet: { type: 'boolean', short: 'q', default: false },
      verbose: { type: 'boolean', short: 'v', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: false,
  });
  const [name, ...rest] = global.positionals;
  const format = global.values['log-format'];
  if (format !== 'text' && format !== 'json') {
    return fail(new TideError('usage', `--log-format must be text or json, not ${JSON.stringify(format)}`), 'text');
  }
  if (format === 'json') warningsAsJson();
  const out = stdoutFor(format);
  // `tide release build --help` is the release command's own help; `tide --help update` is ours.
  const helpIndex = argv.findIndex((a) => a === '--help' || a === '-h');
  const helpIsOurs = helpIndex >= 0 && (name === undefined || helpIndex < argv.indexOf(name) || name !== 'release');
  if (helpIsOurs || !name) {
    out(usage);
    return helpIsOurs ? ExitCode.ok : ExitCode.usage;
  }
  const load = commands[name];
  if (!load) return fail(new TideError('usage', `unknown command ${JSON.stringify(name)}; run tide --help`), format);
  const ctx: CliContext = {
    configFlag: typeof global.values.config === 'string' ? global.values.config : undefined,
    logFormat: format,
    quiet: global.values.quiet === true,
    verbose: global.values.verbose === true,
    logger: createLogger({ format, quiet: global.values.quiet === true, verbose: global.values.verbose === true }),
    out,
  };
  installLastResort((err) => void fail(err, format));
  try {
    const { command } = await load();
    return await command(commandArgs(argv, name, rest), ctx);
  } catch (err) {
    return fail(err, format);
  }
}

/** Everything after the command name except the global flags already consumed. */
function commandArgs(argv: string[], name: string, _rest: string[]): string[] {
  const start = argv.indexOf(name) + 1;
  const args: string[] = [];
  for (let i = start; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--config' || arg === '--log-format') { i++; continue; }
    if (arg.startsWith('--config=') || arg.startsWith('--log-format=')) continue;
    if (['--quiet', '-q', '--verbose', '-v'].includes(arg)) continue;
    args.push(arg);
  }
  return args;
}

/** SPEC commands.md#errors-the-one-line: the one line on stderr, as JSON in JSON mode. */
function fail(err: unknown, format: LogFormat): number {
  const line = operatorLine(err);
  const exitCode = exitCodeOf(err);
  const debug = !(err instanceof TideError) && process.env.TIDE_DEBUG ? err : undefined;
  if (format === 'json') {
    const code = err instanceof TideError ? err.code : 'internal';
    const where = err instanceof TideError ? err.where : {};
    const stack = debug instanceof Error ? { stack: debug.stack } : {};
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'error', event: 'error', code, exitCode, message: line, ...where, ...stack }) + '\n');
    return exitCode;
  }
  process.stderr.write(line + '\n');
  if (debug !== undefined) console.error(debug);
  return exitCode;
}
