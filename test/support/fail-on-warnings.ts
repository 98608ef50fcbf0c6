import { afterAll, afterEach } from 'vitest';
import { reportWarning, takeWarnings } from './process-warnings.js';

/**
 * Setup file of every project (vitest.config.ts): a warning the test process raises fails the
 * test it was raised in (afterEach), or the file when it came from a hook outside any test
 * (afterAll). Unhandled rejections and uncaught exceptions already fail the run (Vitest reports
 * them as errors).
 */

const LISTENING = Symbol.for('conduit.test.warningListener');
const processState = process as typeof process & { [LISTENING]?: true };

// One listener per process, however many test files the process runs.
if (!processState[LISTENING]) {
  processState[LISTENING] = true;
  process.on('warning', (warning) => {
    const frames = (warning.stack ?? '').split('\n').filter((line) => line.trimStart().startsWith('at '));
    const stack = frames.slice(0, 5).join('\n');
    reportWarning('test process', `${warning.name}: ${warning.message}\n${stack}`);
  });
}

function failOnWarnings(): void {
  const message = takeWarnings();
  if (message) throw new Error(message);
}

afterEach(failOnWarnings);
afterAll(failOnWarnings);
