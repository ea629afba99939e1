// Text tables for a terminal: columns aligned with two spaces between them, no
// borders, no colours (cli-table3 with its border characters off), trailing
// spaces trimmed. Pure: rows in, lines out.
import { createRequire } from 'node:module';

type TableConstructor = typeof import('cli-table3');

const noBorders = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '',
  middle: '  ',
};

export function alignedTable(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  // Loaded when a table is printed: `tide status` and the JSON outputs never pay for it.
  const Table = createRequire(import.meta.url)('cli-table3') as TableConstructor;
  const table = new Table({
    head: [...head],
    chars: noBorders,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
  });
  table.push(...rows.map((row) => [...row]));
  return table.toString().split('\n').map((line) => line.trimEnd());
}
