import type { ChildProcess } from 'node:child_process';

/**
 * Process warnings fail the test run. Node reports a leak (`MaxListenersExceededWarning`), a
 * clamped timer (`TimeoutOverflowWarning`), a deprecated API or an experimental feature as a line
 * on stderr and carries on; in a test process or a server/worker process a test starts, that line
 * is a defect. The setup file (fail-on-warnings.ts) collects the test process's own warnings and
 * fails the test during which they were raised; child processes report theirs through
 * `watchChildWarnings`.
 */

export interface CollectedWarning {
  source: string;
  text: string;
}

const COLLECTED = Symbol.for('conduit.test.processWarnings');

type WithCollected = typeof globalThis & { [COLLECTED]?: CollectedWarning[] };

/** The warnings raised since the last check, shared by every copy of this module in the process. */
export function collectedWarnings(): CollectedWarning[] {
  const global = globalThis as WithCollected;
  global[COLLECTED] ??= [];
  return global[COLLECTED];
}

export function reportWarning(source: string, text: string): void {
  collectedWarnings().push({ source, text });
}

/**
 * Node's own warning line: `(node:1234) MaxListenersExceededWarning: …`,
 * `(node:1234) [DEP0040] DeprecationWarning: …`, `(node:1234) Warning: …`.
 */
const NODE_WARNING_LINE = /^\(node:\d+\) (?:\[[A-Z0-9_]+\] )?\w*Warning: .*$/gm;

/** Node warning lines in a child's output. */
export function warningLines(output: string): string[] {
  return output.match(NODE_WARNING_LINE) ?? [];
}

/** Reports every Node warning line `child` prints on stderr as a warning of the running test. */
export function watchChildWarnings(label: string, child: ChildProcess): void {
  let pending = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const complete = pending.lastIndexOf('\n');
    if (complete === -1) return;
    for (const line of warningLines(pending.slice(0, complete))) reportWarning(label, line);
    pending = pending.slice(complete + 1);
  });
  child.stderr?.once('end', () => {
    for (const line of warningLines(pending)) reportWarning(label, line);
  });
}

/** Empties the list and returns a message naming every warning, or undefined when there was none. */
export function takeWarnings(): string | undefined {
  const warnings = collectedWarnings().splice(0);
  if (warnings.length === 0) return undefined;
  return `process warnings were raised (fix their cause; see docs/TESTING.md):\n${warnings
    .map(({ source, text }) => `  [${source}] ${text}`)
    .join('\n')}`;
}
