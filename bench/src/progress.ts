/** One self-overwriting progress line on stderr (plain lines when stderr is not a terminal). */
export class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private lastPlainMs = 0;

  constructor(private readonly enabled: boolean) {}

  line(text: string): void {
    if (!this.enabled) return;
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${text}`);
      return;
    }
    // Logs (CI, make | tee) get one line every 5 s instead of a carriage-return stream.
    const now = Date.now();
    if (now - this.lastPlainMs < 5000) return;
    this.lastPlainMs = now;
    process.stderr.write(`${text}\n`);
  }

  /** A line that stays. */
  status(text: string): void {
    if (!this.enabled) return;
    process.stderr.write(`${this.tty ? "\r\x1b[2K" : ""}${text}\n`);
  }
}
