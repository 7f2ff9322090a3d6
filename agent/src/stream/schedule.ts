/**
 * When to report besides the server asking: every `report_interval_s` after the
 * last report, and a cheap posture re-check every minute that reports early when
 * something changed. Timers are unref'd: they never keep the process alive alone.
 */
export class ReportSchedule {
  private intervalMs: number;
  private reportTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly options: {
      reportIntervalS: number;
      checkIntervalMs: number;
      onReportDue(): void;
      onCheckDue(): Promise<void>;
    },
  ) {
    this.intervalMs = options.reportIntervalS * 1000;
  }

  start(): void {
    this.scheduleCheck();
  }

  /** A report just went out: the next periodic one is a full interval away. */
  reported(): void {
    if (this.stopped) return;
    clearTimeout(this.reportTimer);
    this.reportTimer = setTimeout(() => this.options.onReportDue(), this.intervalMs);
    this.reportTimer.unref();
  }

  /** The server set the interval (`config` frame, on every connection); false if it already was. */
  setInterval(reportIntervalS: number): boolean {
    if (reportIntervalS * 1000 === this.intervalMs) return false;
    this.intervalMs = reportIntervalS * 1000;
    if (this.reportTimer) this.reported();
    return true;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.reportTimer);
    clearTimeout(this.checkTimer);
  }

  private scheduleCheck(): void {
    if (this.stopped) return;
    this.checkTimer = setTimeout(() => {
      // The next check is timed from the end of this one, so slow collectors never overlap.
      void this.options.onCheckDue().finally(() => this.scheduleCheck());
    }, this.options.checkIntervalMs);
    this.checkTimer.unref();
  }
}
