// `tide release rollout --halt-on "rollbacks>0 | success<0.99"`: when a rollout step is
// unhealthy. Parsed by jsep (a small JavaScript-expression parser) and then held to a tiny
// grammar: fleet metrics, numbers, comparisons, `|`/`||` (or), `&`/`&&` (and), parentheses.
// Anything else (calls, strings, member access, unknown names) is refused with the part named.
import jsep from 'jsep';
import { TideError } from '../errors.js';
import { limits } from '../limits.js';

/** What the fleet reported about the version being rolled out (src/release/fleet-results.ts). */
export const haltMetrics = ['rollbacks', 'late_rollbacks', 'commits', 'failures', 'reports', 'hosts', 'success'] as const;
export type HaltMetric = (typeof haltMetrics)[number];
export type MetricValues = Record<HaltMetric, number>;

const comparisons = ['<', '<=', '>', '>=', '==', '!='] as const;
type Comparison = (typeof comparisons)[number];

/** The checked tree: what the expression means, nothing more. */
export type HaltExpression =
  | { kind: 'compare'; metric: HaltMetric; op: Comparison; value: number; text: string }
  | { kind: 'or' | 'and'; left: HaltExpression; right: HaltExpression };

function refuse(source: string, why: string): never {
  throw new TideError('usage', `--halt-on ${JSON.stringify(source)}: ${why}; write comparisons of ${haltMetrics.join(', ')} with numbers, joined by | (or) and & (and), e.g. "rollbacks>0 | success<0.99"`);
}

const isMetric = (name: string): name is HaltMetric => (haltMetrics as readonly string[]).includes(name);
const flipped: Record<Comparison, Comparison> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '==': '==', '!=': '!=' };

function numberOf(node: jsep.Expression, source: string): number | undefined {
  if (node.type === 'Literal' && typeof (node as jsep.Literal).value === 'number') return (node as jsep.Literal).value as number;
  if (node.type === 'UnaryExpression' && (node as jsep.UnaryExpression).operator === '-') {
    const inner = numberOf((node as jsep.UnaryExpression).argument, source);
    return inner === undefined ? undefined : -inner;
  }
  return undefined;
}

function metricOf(node: jsep.Expression, source: string): HaltMetric | undefined {
  if (node.type !== 'Identifier') return undefined;
  const name = (node as jsep.Identifier).name;
  if (!isMetric(name)) refuse(source, `unknown metric ${JSON.stringify(name)}`);
  return name;
}

function check(node: jsep.Expression, source: string): HaltExpression {
  if (node.type !== 'BinaryExpression') refuse(source, `expected a comparison, found a ${node.type}`);
  const { operator, left, right } = node as jsep.BinaryExpression;
  if (operator === '|' || operator === '||') return { kind: 'or', left: check(left, source), right: check(right, source) };
  if (operator === '&' || operator === '&&') return { kind: 'and', left: check(left, source), right: check(right, source) };
  if (!(comparisons as readonly string[]).includes(operator)) refuse(source, `unknown operator ${JSON.stringify(operator)}`);
  const op = operator as Comparison;
  const [lm, rm, ln, rn] = [metricOf(left, source), metricOf(right, source), numberOf(left, source), numberOf(right, source)];
  // "rollbacks>0" or "0<rollbacks": one metric against one number.
  if (lm !== undefined && rn !== undefined) return { kind: 'compare', metric: lm, op, value: rn, text: `${lm}${op}${rn}` };
  if (rm !== undefined && ln !== undefined) return { kind: 'compare', metric: rm, op: flipped[op], value: ln, text: `${rm}${flipped[op]}${ln}` };
  return refuse(source, `each comparison must set one metric against one number (at ${JSON.stringify(operator)})`);
}

export function parseHaltExpression(source: string): HaltExpression {
  if (source.trim() === '') refuse(source, 'empty');
  if (source.length > limits.maxHaltExpressionChars) refuse(source.slice(0, 40) + '…', `longer than ${limits.maxHaltExpressionChars} characters`);
  let tree: jsep.Expression;
  try {
    tree = jsep(source);
  } catch (err) {
    return refuse(source, (err as Error).message);
  }
  return check(tree, source);
}

function compare(value: number, op: Comparison, bound: number): boolean {
  switch (op) {
    case '<': return value < bound;
    case '<=': return value <= bound;
    case '>': return value > bound;
    case '>=': return value >= bound;
    case '==': return value === bound;
    case '!=': return value !== bound;
  }
}

/** The comparisons that hold, when the whole expression does (why the rollout halts); [] when it does not. */
export function haltReasons(expression: HaltExpression, values: MetricValues): string[] {
  switch (expression.kind) {
    case 'compare':
      return compare(values[expression.metric], expression.op, expression.value) ? [`${expression.text} (${expression.metric} = ${round(values[expression.metric])})`] : [];
    case 'or':
      return [...haltReasons(expression.left, values), ...haltReasons(expression.right, values)];
    case 'and': {
      const [left, right] = [haltReasons(expression.left, values), haltReasons(expression.right, values)];
      return left.length > 0 && right.length > 0 ? [...left, ...right] : [];
    }
  }
}

const round = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(4).replace(/0+$/, ''));
