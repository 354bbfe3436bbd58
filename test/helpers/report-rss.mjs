// Preloaded into a CLI child process (node --import): writes the process's peak RSS (KiB,
// process.resourceUsage().maxRSS) to $MESH_VERIFY_TEST_RSS_FILE when it exits.
import { writeFileSync } from 'node:fs';

const file = process.env.MESH_VERIFY_TEST_RSS_FILE;
if (file) process.on('exit', () => { writeFileSync(file, String(process.resourceUsage().maxRSS)); });
