// The goals `npm run bench` measures against (issues 13 and 15), gathered as the parts run and printed once at the
// end as one table: what, the figure measured in this run, the goal, and the ratio of the two. Measured, never
// asserted: a goal missed is a line of the table, not a failure.

/** How a figure compares with its goal: `max` (at most the goal is met) or `min` (at least the goal). */
export type GoalKind = 'max' | 'min';

interface Goal {
  what: string;
  value: number;
  goal: number;
  kind: GoalKind;
  unit: string;
}

const goals: Goal[] = [];

/**
 * Records a figure against its goal for the final table. `unit` is printed after both numbers ("ms", "x"); a ratio
 * goal such as "ours/scp >= 0.95" is `kind: 'min'`.
 */
export function goal(what: string, value: number, target: number, kind: GoalKind, unit = 'ms'): void {
  if (Number.isFinite(value)) goals.push({ what, value, goal: target, kind, unit });
}

const fmt = (n: number, unit: string) => `${n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)}${unit === 'x' ? '' : ' '}${unit === 'x' ? '' : unit}`;

/** The table of every goal recorded in this run, in the order measured. */
export function goalTable(): string {
  if (goals.length === 0) return '';
  const rows = goals.map((g) => {
    const met = g.kind === 'max' ? g.value <= g.goal : g.value >= g.goal;
    // how far from the goal: > 1 is better than the goal, < 1 short of it
    const margin = g.kind === 'max' ? g.goal / g.value : g.value / g.goal;
    return [g.what, fmt(g.value, g.unit), `${g.kind === 'max' ? '<=' : '>='} ${fmt(g.goal, g.unit)}`, `${met ? 'met' : 'MISSED'} (x${margin.toFixed(2)})`];
  });
  const head = ['goal', 'measured', 'target', 'result (goal margin)'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return ['', 'Goals (issues 13 and 15), this run:', line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
