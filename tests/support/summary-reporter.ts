import type { Reporter, TestModule } from 'vitest/node';
import { CHROMIUM_HINT, hasChromium } from './chromium.js';

/** Prints the closing line CI reads, exactly "N passed, N failed" (skipped tests are counted on the line before). */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const module of modules) {
      // A file that fails to load has no tests but is still a failure.
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) failed += 1;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failed += 1;
        else skipped += 1;
      }
    }
    if (!hasChromium && modules.some((m) => m.moduleId.includes('/tests/browser/'))) process.stdout.write(`\n${CHROMIUM_HINT}\n`);
    if (skipped > 0) process.stdout.write(`\n${skipped} skipped`);
    process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  }
}
