import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Module imports point one way (docs/API.md, "Where the code is"): a module imports only modules
 * after it in this list. admin, dev-mail and health import no other module.
 */
const LAYERS = ['pages', 'comments', 'tags', 'articles', 'users', 'profiles', 'notifications', 'auth'];
const STANDALONE = ['admin', 'dev-mail', 'health'];

const MODULES_DIR = path.resolve('src/modules');

/** Every module another module's files import, by importing module. */
function moduleImports(): Map<string, Set<string>> {
  const imports = new Map<string, Set<string>>();
  for (const module of readdirSync(MODULES_DIR)) {
    const targets = new Set<string>();
    for (const file of readdirSync(path.join(MODULES_DIR, module), { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue;
      const directory = path.dirname(path.join(MODULES_DIR, module, file));
      const source = readFileSync(path.join(MODULES_DIR, module, file), 'utf8');
      for (const [, specifier] of source.matchAll(/from '(\.[^']+)'/g)) {
        const target = path.relative(MODULES_DIR, path.resolve(directory, specifier ?? ''));
        const targetModule = target.split(path.sep)[0];
        if (!target.startsWith('..') && targetModule && targetModule !== module) targets.add(targetModule);
      }
    }
    imports.set(module, targets);
  }
  return imports;
}

describe('module boundaries', () => {
  const imports = moduleImports();

  it('knows every module', () => {
    expect([...imports.keys()].sort()).toEqual([...LAYERS, ...STANDALONE].sort());
  });

  it('imports only the modules below it', () => {
    const upward: string[] = [];
    for (const [module, targets] of imports) {
      for (const target of targets) {
        const allowed = LAYERS.includes(module) && LAYERS.indexOf(target) > LAYERS.indexOf(module);
        if (!allowed) upward.push(`${module} → ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });
});
