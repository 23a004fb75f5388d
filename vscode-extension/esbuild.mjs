// Bundles the extension (src/main.ts → dist/extension.js, `vscode` left to the host) and, with
// --tests, each test/*.test.ts → out/test/*.test.js for `node --test`. Test bundles have NO
// externals: a tested module that imports `vscode` fails to bundle, which keeps them runnable
// under plain node.
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';

const common = { bundle: true, platform: 'node', target: 'node18', format: 'cjs', sourcemap: true, logLevel: 'warning' };

await build({
  ...common,
  entryPoints: ['src/main.ts'],
  outfile: 'dist/extension.js',
  minify: true,
  external: ['vscode'],
});

if (process.argv.includes('--tests')) {
  const tests = readdirSync('test').filter((f) => f.endsWith('.test.ts'));
  await build({ ...common, entryPoints: tests.map((f) => `test/${f}`), outdir: 'out/test' });
}
