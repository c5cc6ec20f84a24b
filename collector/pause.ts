/**
 * A loop's wait that can be cut short: an idle wait ends on news (new rows) or on stop;
 * a backoff ends only on stop, so news cannot turn a retry storm loose. Shared by the
 * loader and the export loops.
 */
export class Pause {
  private wake: ((reason: 'news' | 'stop') => void) | undefined;

  /** Waits `ms`; `idle`: news ends the wait too. */
  wait(ms: number, idle: boolean): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = (reason) => {
        if (!idle && reason === 'news') return;
        this.wake = undefined;
        done();
      };
    });
  }

  /** Ends an idle wait. */
  news(): void {
    this.wake?.('news');
  }

  /** Ends any wait. */
  stop(): void {
    this.wake?.('stop');
  }
}
