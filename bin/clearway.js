#!/usr/bin/env node
'use strict';
// The `clearway` bin. The CLI is TypeScript compiled by `npm run build` into dist/; from a fresh
// clone that has not been built yet, build once on demand instead of failing with a stack trace.
const { existsSync } = require('node:fs');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const main = path.join(root, 'dist', 'apps', 'cli', 'main.js');

if (!existsSync(main)) {
  process.stderr.write('clearway: first run, building the CLI (npm run build)…\n');
  // Under npx, npm_execpath is npm's own script; elsewhere use npm from PATH.
  const npmCli = process.env.npm_execpath;
  const build = npmCli && npmCli.endsWith('.js')
    ? spawnSync(process.execPath, [npmCli, 'run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 2, 2] })
    : spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (build.status !== 0 || !existsSync(main)) {
    process.stderr.write(
      'clearway: the CLI is not built and building it failed.\n' +
        `Run these in ${root} and try again:\n  npm ci\n  npm run build\n`,
    );
    process.exit(1);
  }
}

require(main);
