/**
 * Virtual time for the lifecycle simulation: the real clock plus an offset
 * that only grows. Every party reads the same time: the handler (through the
 * Clock it is given, lib/handler/clock.js), CloudFormation's records and the
 * other stand-ins in this process, and moto (POST /_fixtures/clock, see
 * moto_fixtures.py), so a key's CreateDate, a version's CreatedDate and the
 * handler's "now" agree however far the simulation jumps.
 *
 * Time moves only when a sleeper the scheduler picked wakes up (or when the
 * simulation waits on purpose): then every timer that falls due fires, in
 * order, as Lambda's own deadlines would.
 */
import * as http from 'node:http';

/** A pause the scheduler decides on: resolves when released (and the clock is moved to its end). */
export type ScheduledWake = (label: string) => Promise<void>;

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fire: () => void;
  cancelled: boolean;
}

export class VirtualTime {
  private offsetMs = 0;
  private readonly timers: Timer[] = [];
  private seq = 0;
  /** The last update of moto's clock, awaited before the next AWS call. */
  private motoSync: Promise<void> = Promise.resolve();

  /**
   * @param motoEndpoint moto, whose clock follows this one
   * @param startOffsetMs where an earlier run against the same moto left the offset (it never goes back)
   */
  constructor(private readonly motoEndpoint?: string, startOffsetMs = 0) {
    this.offsetMs = startOffsetMs;
  }

  /** How far ahead of the real clock this one is. */
  get offset(): number {
    return this.offsetMs;
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Calls `fire` once the clock reaches now + ms; returns what cancels it. */
  timer(fire: () => void, ms: number): () => void {
    const timer: Timer = { at: this.now() + Math.max(0, ms), seq: this.seq++, fire, cancelled: false };
    this.timers.push(timer);
    return () => { timer.cancelled = true; };
  }

  /** Moves the clock to `at` (never back) and fires every timer due by then, earliest first. */
  advanceTo(at: number): void {
    for (;;) {
      const due = this.timers
        .filter((t) => !t.cancelled && t.at <= Math.max(at, this.now()))
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.setAtLeast(due.at);
      due.cancelled = true;
      due.fire();
    }
    this.setAtLeast(at);
    this.timers.splice(0, this.timers.length, ...this.timers.filter((t) => !t.cancelled));
  }

  advanceBy(ms: number): void {
    this.advanceTo(this.now() + ms);
  }

  /** Resolves once moto's clock has the offset of the last move. */
  synced(): Promise<void> {
    return this.motoSync;
  }

  /** When the next timer falls due, if any. */
  nextTimerAt(): number | undefined {
    const pending = this.timers.filter((t) => !t.cancelled).map((t) => t.at);
    return pending.length > 0 ? Math.min(...pending) : undefined;
  }

  private setAtLeast(at: number): void {
    const offset = at - Date.now();
    if (offset <= this.offsetMs) return;
    this.offsetMs = offset;
    if (this.motoEndpoint) {
      const endpoint = this.motoEndpoint;
      const body = JSON.stringify({ OffsetMs: offset });
      this.motoSync = this.motoSync.then(() => post(`${endpoint}/_fixtures/clock`, body));
    }
  }
}

function post(url: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => ((res.statusCode ?? 0) < 300 ? resolve() : reject(new Error(`moto's clock answered HTTP ${res.statusCode}`))));
    });
    request.on('error', reject);
    request.end(body);
  });
}
