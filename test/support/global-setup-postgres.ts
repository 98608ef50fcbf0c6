import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { migratePostgresDatabase } from '../../src/db/migrate.js';

/**
 * Migrates a template database once; every test file then gets `CREATE DATABASE … TEMPLATE`,
 * a fresh, fully migrated database in a few milliseconds.
 */
export async function setup(project: TestProject) {
  const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await admin`select 1`;
  } catch (error) {
    await admin.end();
    throw new Error(
      `PostgreSQL is required (REQUIRE_SERVICES=1) but not reachable at ${new URL(adminUrl).host}: ${String(error)}`,
    );
  }
  const template = `conduit_template_${process.pid}`;
  await admin.unsafe(`drop database if exists ${template}`);
  await admin.unsafe(`create database ${template}`);
  const templateUrl = new URL(adminUrl);
  templateUrl.pathname = `/${template}`;
  await migratePostgresDatabase(templateUrl.toString());
  project.provide('postgresTemplateUrl', templateUrl.toString());

  return async () => {
    // Drop the template and every per-file database made from it.
    const rows = await admin<{ datname: string }[]>`
      select datname from pg_database where datname like ${`conduit_test_${process.pid}_%`}`;
    for (const { datname } of rows) await admin.unsafe(`drop database if exists ${datname} with (force)`);
    await admin.unsafe(`drop database if exists ${template} with (force)`);
    await admin.end();
  };
}
