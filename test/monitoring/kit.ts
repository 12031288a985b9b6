/**
 * The monitoring kit (chart-values/monitoring/) as data for the tests: the PrometheusRule's groups, the dashboard's
 * queries, and the metric names a PromQL expression reads.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../support/exe.js';

export const MONITORING_DIR = join(repoRoot, 'chart-values', 'monitoring');

export interface Rule { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
export interface RuleGroup { name: string; rules: Rule[] }

export function loadYamlFile<T>(name: string): T {
  return parse(readFileSync(join(MONITORING_DIR, name), 'utf8')) as T;
}

export function ruleGroups(): RuleGroup[] {
  return loadYamlFile<{ spec: { groups: RuleGroup[] } }>('prometheusrule.yaml').spec.groups;
}

export interface DashboardQuery { where: string; expr: string }

interface Panel { title: string; targets?: Array<{ expr: string }>; panels?: Panel[] }

/** Every PromQL query of the dashboard: panel targets, and the selectors inside the variables' label_values(). */
export function dashboardQueries(): DashboardQuery[] {
  const dashboard = JSON.parse(readFileSync(join(MONITORING_DIR, 'dashboard.json'), 'utf8')) as {
    panels: Panel[];
    templating: { list: Array<{ name: string; type: string; query?: { query: string } | string }> };
  };
  const out: DashboardQuery[] = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query') continue;
    const text = typeof v.query === 'string' ? v.query : v.query?.query ?? '';
    // Grafana's label_values(selector, label): the selector is PromQL.
    const m = /^label_values\((.+),\s*\w+\)$/.exec(text);
    if (!m) throw new Error(`variable ${v.name}: not label_values(selector, label): ${text}`);
    out.push({ where: `variable $${v.name}`, expr: m[1]! });
  }
  return out;
}

/** Grafana's variables replaced by values PromQL accepts, so promtool can parse the query. */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m').replace(/\$\{?(\w+)\}?/g, 'x');
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/**
 * Metric names an expression reads: identifiers that are not functions (followed by `(`), not keywords, not label
 * names (inside `{…}` or the parentheses of by/without/on/ignoring/group_*) and not in strings or `[…]` ranges.
 */
export function metricNames(expr: string): string[] {
  let text = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  text = text.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  text = text.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of text.matchAll(/(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(\s*\()?/g)) {
    const [, name, call] = m;
    if (call || KEYWORDS.has(name!.toLowerCase())) continue;
    names.add(name!);
  }
  return [...names].sort();
}

/** Metric names a scrape exposes (Prometheus text format: the first token of each sample line). */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}
