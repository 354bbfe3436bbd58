#!/usr/bin/env node
// Thin launcher: the CLI is compiled from src/ to dist/ on `npm install` (the `prepare` script).
import { main } from '../dist/cli/main.js';

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`mesh-verify: internal error: ${err?.stack ?? err}\n`); process.exitCode = 70; },
);
