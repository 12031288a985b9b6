#!/usr/bin/env node
// Sums vitest JSON reports into the one line CI reads: "N passed, N failed". A report that is missing (the run
// crashed before writing it) counts as one failure, so a broken suite can never read as green.
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    const report = JSON.parse(readFileSync(file, 'utf8'));
    passed += report.numPassedTests;
    failed += report.numFailedTests + (report.numTotalTestSuites > 0 && report.success === false && report.numFailedTests === 0 ? 1 : 0);
  } catch {
    console.error(`ci-summary: no readable report at ${file}; counting it as a failure`);
    failed += 1;
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
