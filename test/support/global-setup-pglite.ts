import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';
import { migratePgliteDatabase } from '../../src/db/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplateDir: string;
    postgresTemplateUrl: string;
  }
}

/** initdb + migrations once (~5 s); every test file then copies the directory (well under 1 s). */
export async function setup(project: TestProject) {
  const dir = mkdtempSync(path.join(tmpdir(), 'conduit-pglite-template-'));
  const pglite = await PGlite.create(dir);
  await migratePgliteDatabase(pglite);
  await pglite.close();
  project.provide('pgliteTemplateDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
