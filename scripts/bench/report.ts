// Figures of a benchmark run: each a median over several runs with its min–max,
// next to its baseline measured in the same run, as a ratio against a target.

export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number;
  /** Every run, in the order measured. */
  samples: number[];
}

export interface Figure {
  /** What was measured, e.g. "stage a 256 MiB release". */
  name: string;
  unit: 'ms' | 'MB' | 'requests' | 'bytes';
  tide: Summary;
  baseline?: { label: string } & Summary;
  /** tide's median over the baseline's (lower is better). */
  ratio?: number;
  /** The target in words, e.g. "≤ 0.8× the streaming shell pipeline". */
  target: string;
  met: boolean;
  note?: string;
}

export function summarize(samples: number[]): Summary {
  if (samples.length === 0) throw new Error('no samples to summarize');
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, runs: sorted.length, samples: samples.map((x) => Math.round(x * 10) / 10) };
}

export function ratioOf(tide: Summary, baseline: Summary): number {
  return baseline.median === 0 ? Number.POSITIVE_INFINITY : tide.median / baseline.median;
}

/** A rollback is over within 10 s of the broken version's restart. */
export function rollbackFigure(name: string, samples: number[], note: string): Figure {
  const tide = summarize(samples);
  return { name, unit: 'ms', tide, target: '≤ 10 s', met: tide.median <= 10_000, note };
}

/** A swap costs the service at most 100 ms more downtime than its own restart, measured by the same client. */
export function swapFigure(name: string, baselineLabel: string, tideSamples: number[], aloneSamples: number[]): Figure {
  const tide = summarize(tideSamples);
  const alone = summarize(aloneSamples);
  return {
    name, unit: 'ms', tide,
    baseline: { label: baselineLabel, ...alone },
    ratio: ratioOf(tide, alone),
    target: '≤ restart alone + 100 ms',
    met: tide.median <= alone.median + 100,
  };
}

function number(value: number, unit: Figure['unit']): string {
  if (unit === 'ms') return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`;
  if (unit === 'MB') return `${value.toFixed(1)} MB`;
  if (unit === 'bytes') return `${Math.round(value)} B`;
  return String(Math.round(value * 10) / 10);
}

function cell(summary: Summary, unit: Figure['unit']): string {
  if (summary.min === summary.max) return `${number(summary.median, unit)} (${summary.runs}×)`;
  return `${number(summary.median, unit)} (${number(summary.min, unit)}–${number(summary.max, unit)}, ${summary.runs}×)`;
}

export function tableRows(figures: Figure[]): string[][] {
  return figures.map((f) => [
    f.name,
    cell(f.tide, f.unit),
    f.baseline ? `${f.baseline.label}: ${cell(f.baseline, f.unit)}` : '—',
    f.ratio === undefined ? '—' : `${f.ratio.toFixed(2)}×`,
    f.target,
    f.met ? 'yes' : 'NO',
  ]);
}

const header = ['figure', 'tide: median (min–max, runs)', 'baseline, same run', 'ratio', 'target', 'met'];

/** A plain-text table for the terminal. */
export function textTable(figures: Figure[]): string {
  const rows = [header, ...tableRows(figures)];
  const widths = header.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: string[]): string => row.map((text, column) => text.padEnd(widths[column]!)).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** The same table in Markdown, for docs/benchmarks.md. */
export function markdownTable(figures: Figure[]): string {
  const escape = (text: string): string => text.replace(/\|/g, '\\|');
  const rows = tableRows(figures).map((row) => `| ${row.map(escape).join(' | ')} |`);
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows].join('\n');
}
