/**
 * Lambda, as the lifecycle simulation plays it: every invocation of the
 * handler is a Delivery, and every AWS call it makes, and every pause it
 * takes, is a scheduling point of fast-check's scheduler. The scheduler
 * decides which waiting delivery goes on next; between two scheduling points
 * exactly one delivery runs (the runtime waits for it to reach its next
 * point, or to end), so each run is one interleaving of the deliveries at
 * AWS-call granularity, reproducible from its seed.
 *
 * A delivery can be killed: it stops at a scheduling point and never goes on,
 * as a Lambda that timed out or crashed. Faults that moto cannot produce
 * (throttling, an answer lost after the call took effect) are injected here,
 * between the scheduler and moto.
 */
import type { Scheduler } from 'fast-check';
import type { Clock } from '../../../lib/handler/clock';
import { awsError, networkError } from '../aws-errors';
import { VirtualTime } from './virtual-time';

export type DeliveryState = 'running' | 'waiting' | 'sleeping' | 'done' | 'killed';

/** What the handler sends through a client: an SDK v3 command. */
interface SdkCommand {
  readonly input: unknown;
  readonly constructor: { name: string };
}

export interface SdkClient {
  send(command: SdkCommand, options?: unknown): Promise<unknown>;
}

/** Lambda's longest run, the handler function's timeout. */
export const LAMBDA_TIMEOUT_MS = 900_000;

export class Delivery {
  public state: DeliveryState = 'running';
  /** AWS calls it has made (scheduling points passed). */
  public calls = 0;
  /** It dies at the scheduling point of this call, if set. */
  public killAt?: number;
  /** How it ended, for the report: 'returned', 'threw: …', 'killed after N calls'. */
  public outcome?: string;
  public readonly startedAt: number;
  public readonly deadline: number;
  /** Told how it ended (Lambda's retry of a failed asynchronous invocation hangs on it). */
  public ended?: (delivery: Delivery, how: 'ok' | 'error' | 'killed') => void;

  constructor(public readonly id: number, public readonly label: string, time: VirtualTime) {
    this.startedAt = time.now();
    this.deadline = this.startedAt + LAMBDA_TIMEOUT_MS;
  }

  get live(): boolean {
    return this.state !== 'done' && this.state !== 'killed';
  }

  toString(): string {
    return `#${this.id} ${this.label}`;
  }
}

/** Faults on the way to moto, consumed as requests pass. */
export class Faults {
  /** IAM answers this many of the next IAM calls with Throttling (nothing is done). */
  public iamThrottles = 0;
  /** The next CreateAccessKey calls take effect, but their answer is lost (a reset connection). */
  public lostCreateAnswers = 0;

  before(service: string, action: string): Error | undefined {
    if (service === 'iam' && this.iamThrottles > 0) {
      this.iamThrottles--;
      return awsError('Throttling', 'Rate exceeded', 400);
    }
    void action;
    return undefined;
  }

  after(service: string, action: string): Error | undefined {
    if (service === 'iam' && action === 'CreateAccessKey' && this.lostCreateAnswers > 0) {
      this.lostCreateAnswers--;
      return networkError();
    }
    return undefined;
  }

  clear(): void {
    this.iamThrottles = 0;
    this.lostCreateAnswers = 0;
  }
}

export class Runtime {
  public readonly deliveries: Delivery[] = [];
  public readonly faults = new Faults();
  /** Deliveries between two scheduling points (doing I/O or computing). */
  private running = 0;
  /** Work of the simulation's own (CloudFormation deleting secrets) still in flight. */
  private pending: Array<Promise<unknown>> = [];
  private nextId = 1;

  constructor(public readonly scheduler: Scheduler, public readonly time: VirtualTime) {}

  /**
   * Starts an invocation; it runs until its first scheduling point.
   * @param ended called when it returns ('ok'), fails ('error') or is killed ('killed')
   */
  start(label: string, work: (delivery: Delivery) => Promise<unknown>, ended?: (delivery: Delivery, how: 'ok' | 'error' | 'killed') => void): Delivery {
    const delivery = new Delivery(this.nextId++, label, this.time);
    delivery.ended = ended;
    this.deliveries.push(delivery);
    this.running++;
    // Lambda stops an invocation at its timeout, wherever it is.
    const timeout = this.time.timer(() => this.expire(delivery), LAMBDA_TIMEOUT_MS);
    void (async () => {
      let how: 'ok' | 'error' = 'ok';
      try {
        await work(delivery);
        delivery.outcome = 'returned';
      } catch (e) {
        delivery.outcome = `threw ${(e as Error)?.name ?? 'Error'}: ${String((e as Error)?.message ?? '').slice(0, 200)}`;
        how = 'error';
      } finally {
        timeout();
        if (delivery.state !== 'killed') {
          delivery.state = 'done';
          this.running--;
          delivery.ended?.(delivery, how);
        }
      }
    })();
    return delivery;
  }

  /**
   * Lambda's timeout: a delivery still live at its deadline (virtual time
   * jumped past it while it waited) is stopped where it waits; it never goes on.
   */
  private expire(delivery: Delivery): void {
    if (!delivery.live || delivery.state === 'running') return;
    delivery.state = 'killed';
    delivery.outcome = `timed out (Lambda stopped it at its deadline, ${LAMBDA_TIMEOUT_MS / 60_000} minutes)`;
    delivery.ended?.(delivery, 'killed');
  }

  /** A scheduling point before an AWS call: the delivery waits until the scheduler picks it, or dies here. */
  async point(delivery: Delivery, what: string): Promise<void> {
    if (delivery.killAt !== undefined && delivery.calls >= delivery.killAt) {
      delivery.state = 'killed';
      delivery.outcome = `killed before call ${delivery.calls + 1} (${what})`;
      this.running--;
      delivery.ended?.(delivery, 'killed');
      return new Promise<void>(() => { /* a killed Lambda never goes on */ });
    }
    delivery.state = 'waiting';
    this.running--;
    await this.scheduler.schedule(Promise.resolve(), `${delivery} ${what}`);
    if ((delivery.state as DeliveryState) === 'killed') return new Promise<void>(() => { /* timed out while it waited */ });
    delivery.state = 'running';
    this.running++;
    delivery.calls++;
    await this.time.synced();
  }

  /** A client whose every call is a scheduling point of `delivery`, with the runtime's faults. */
  client(delivery: Delivery, real: SdkClient, service: string): SdkClient {
    return {
      send: async (command, options) => {
        const action = command.constructor.name.replace(/Command$/, '');
        await this.point(delivery, `${service}:${action}`);
        const refused = this.faults.before(service, action);
        if (refused) throw refused;
        const out = await real.send(command, options);
        const lost = this.faults.after(service, action);
        if (lost) throw lost;
        return out;
      },
    };
  }

  /** The time a delivery goes by: virtual, and every pause is a scheduling point. */
  clock(delivery: Delivery): Clock {
    return {
      now: () => this.time.now(),
      timer: (fire, ms) => this.time.timer(fire, ms),
      sleep: (ms, signal) => {
        if (signal?.aborted) return Promise.resolve();
        const wakeAt = this.time.now() + ms;
        delivery.state = 'sleeping';
        this.running--;
        return new Promise<void>((resolve) => {
          let woken = false;
          const wake = () => {
            if (woken || delivery.state === 'killed') return;
            woken = true;
            signal?.removeEventListener('abort', wake);
            delivery.state = 'running';
            this.running++;
            resolve();
          };
          signal?.addEventListener('abort', wake, { once: true });
          void this.scheduler.schedule(Promise.resolve(), `${delivery} sleep ${ms} ms`).then(() => {
            if (woken) return;
            this.time.advanceTo(wakeAt);
            wake();
          });
        });
      },
    };
  }

  /** A Lambda context whose remaining time is the delivery's, on virtual time. */
  context(delivery: Delivery): { getRemainingTimeInMillis(): number } {
    return { getRemainingTimeInMillis: () => delivery.deadline - this.time.now() };
  }

  /** Work that is not a delivery's but must be done before the next scheduling point. */
  background(work: Promise<unknown>): void {
    this.pending.push(work);
  }

  /** Live deliveries (not finished, not killed). */
  live(): Delivery[] {
    return this.deliveries.filter((d) => d.live);
  }

  /**
   * Resolves once no delivery is between two scheduling points: each has
   * reached its next one, or ended. A delivery that computes for ever (or
   * waits on a real timer) fails the run after `limitMs` of real time.
   */
  async quiescent(limitMs = 30_000): Promise<void> {
    const started = Date.now();
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      await this.time.synced();
      const pending = this.pending;
      this.pending = [];
      await Promise.all(pending);
      if (this.running === 0 && this.pending.length === 0) return;
      if (Date.now() - started > limitMs) {
        const busy = this.deliveries.filter((d) => d.state === 'running').map(String).join(', ');
        throw new Error(`simulation: ${busy} did not reach a scheduling point within ${limitMs} ms (a real timer or an unscheduled wait in the handler?)`);
      }
    }
  }
}
