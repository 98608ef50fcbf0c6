import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` only diffs src/db/schema.ts against the committed snapshots in
// migrations/meta; it needs no database connection.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './migrations',
});
