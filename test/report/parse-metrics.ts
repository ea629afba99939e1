// Read a Prometheus text exposition back: sample (name plus labels, as written) → value.
// Checks the format on the way: every sample's metric has # HELP and # TYPE before it.
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  const helped = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) (\w+) (.+)$/.exec(line);
    if (comment) {
      (comment[1] === 'HELP' ? helped : typed).add(comment[2]!);
      if (comment[1] === 'TYPE' && !['gauge', 'counter'].includes(comment[3]!)) throw new Error(`unknown type: ${line}`);
      continue;
    }
    const sample = /^(\w+)(\{(?:\w+="(?:[^"\\]|\\.)*",?)*\})? (-?[\d.e+]+)$/.exec(line);
    if (!sample) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    if (!typed.has(sample[1]!) || !helped.has(sample[1]!)) throw new Error(`${sample[1]} has no # HELP / # TYPE before it`);
    samples.set(`${sample[1]}${sample[2] ?? ''}`, Number(sample[3]));
  }
  return samples;
}
