#!/usr/bin/env node
// Thin launcher: the CLI is compiled from src/ to dist/ on `npm install` (the `prepare` script).
import { main } from '../dist/cli/main.js';

// A reader that goes away early (`mesh-verify ... | head`) is no error of the run: what follows is
// not printed, and the run goes on to its end (and to its cleanup) with its own exit code.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => { if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err; });
}

let settled = false;
// The last guard of "no verdict is never exit 0": should the event loop run empty while main()
// is still waiting (an operation with no deadline keeping it alive), Node would exit with code 0.
process.on('beforeExit', () => {
  if (settled) return;
  settled = true;
  process.stderr.write('mesh-verify: the run ended without a verdict: an operation was still waiting when nothing was left to end it (fix: run again; this is a bug, please report it)\n');
  process.exitCode = 4;
});

main(process.argv).then(
  (code) => { settled = true; process.exitCode = code; },
  (err) => { settled = true; process.stderr.write(`mesh-verify: internal error: ${err?.stack ?? err}\n`); process.exitCode = 70; },
);
