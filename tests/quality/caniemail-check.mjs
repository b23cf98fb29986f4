// caniemail's own checker (the npm package, pinned in package-lock.json) on one
// email: prints, as JSON, what it reports unsupported ("errors") for each client.
// Usage: node caniemail-check.mjs EMAIL.html CLIENT...
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { caniemail } = await import(require.resolve('caniemail'));
const [file, ...clients] = process.argv.slice(2);
const { issues } = caniemail({ html: readFileSync(file, 'utf8'), clients });
const errors = {};
for (const [client, found] of issues.errors) {
  errors[client] = found.map(({ title, position }) => ({ title, line: position?.start?.line ?? null }));
}
const { version } = require('caniemail/package.json');
const { last_update_date: updated } = require('caniemail/caniemail.json');
console.log(JSON.stringify({ version, updated, errors }));
