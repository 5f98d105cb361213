/**
 * What CloudFormation, Secrets Manager, Lambda, an invoker, a person and
 * AWS's faults can do, as fast-check commands. Every command applies in
 * every state (one that makes no sense there does nothing and says so), so
 * fast-check can shrink a failing sequence freely. After each command the
 * scheduler lets the deliveries take `steps` scheduling points, so commands
 * land between any two AWS calls.
 */
import fc from 'fast-check';
import type { AsyncCommand } from 'fast-check';
import { SERVICE_TIMEOUT_MS } from './stack-actor';
import { drain } from './simulation';
import { USERS, SimWorld } from './world';

type Model = Record<string, never>;
export type SimCommand = AsyncCommand<Model, SimWorld, false>;

/** A command that does one thing to the world, then lets the scheduler take some steps. */
abstract class Step implements SimCommand {
  /** What it did, for the report (filled in when it ran). */
  protected result = '';

  constructor(public readonly steps: number) {}

  check(): boolean {
    return true;
  }

  async run(_model: Model, world: SimWorld): Promise<void> {
    this.result = await this.act(world);
    world.journal.push(`> ${this.describe()}: ${this.result}`);
    await world.runtime.quiescent();
    for (let i = 0; i < this.steps && world.runtime.scheduler.count() > 0; i++) await world.runtime.scheduler.waitNext(1);
  }

  toString(): string {
    return `${this.describe()} +${this.steps}`;
  }

  protected abstract act(world: SimWorld): Promise<string> | string;
  protected abstract describe(): string;
}

class Deploy extends Step {
  constructor(private readonly user: string, private readonly serial: string, steps: number) { super(steps); }
  protected act(world: SimWorld) { return world.stack.deploy({ user: this.user, serial: this.serial }); }
  protected describe() { return `deploy(${this.user}, serial ${this.serial})`; }
}

class SiblingFails extends Step {
  protected act(world: SimWorld) { return world.stack.siblingFails(); }
  protected describe() { return 'a sibling resource fails'; }
}

class LoseAnswers extends Step {
  protected act(world: SimWorld) { return world.stack.loseAnswers(); }
  protected describe() { return 'answers to the request in flight are lost'; }
}

class Redeliver extends Step {
  constructor(private readonly back: number, steps: number) { super(steps); }
  protected act(world: SimWorld) {
    const ops = world.stack.operations;
    if (ops.length === 0) return 'no request yet';
    const op = ops[Math.max(0, ops.length - 1 - (this.back % ops.length))];
    return `Lambda delivers ${op.event.RequestType} (${op.phase}) again as ${world.stack.redeliver(op)}`;
  }
  protected describe() { return `redeliver the request ${this.back} back`; }
}

class Copies extends Step {
  constructor(private readonly count: number, steps: number) { super(steps); }
  protected act(world: SimWorld) {
    const op = world.stack.waitingOn;
    if (!op) return 'nothing in flight to copy';
    return Array.from({ length: this.count }, () => String(world.stack.copy(op))).join(', ');
  }
  protected describe() { return `an invoker sends ${this.count} copies of the request in flight`; }
}

class Kill extends Step {
  constructor(private readonly pick: number, private readonly afterCalls: number, steps: number) { super(steps); }
  protected act(world: SimWorld) {
    const live = world.runtime.live();
    if (live.length === 0) return 'no delivery to kill';
    const delivery = live[this.pick % live.length];
    delivery.killAt = delivery.calls + this.afterCalls;
    world.marks.add('kill');
    return `${delivery} dies before its call ${delivery.killAt + 1}`;
  }
  protected describe() { return `kill a delivery (${this.pick}) after ${this.afterCalls} more calls`; }
}

class Throttle extends Step {
  constructor(private readonly calls: number, steps: number) { super(steps); }
  protected act(world: SimWorld) {
    world.runtime.faults.iamThrottles += this.calls;
    world.marks.add('throttle');
    return `IAM throttles the next ${this.calls} calls`;
  }
  protected describe() { return `throttle ${this.calls} IAM calls`; }
}

class LoseCreateAnswer extends Step {
  protected act(world: SimWorld) {
    world.runtime.faults.lostCreateAnswers++;
    world.marks.add('lost-create-answer');
    return 'the next CreateAccessKey takes effect, but its answer is lost';
  }
  protected describe() { return 'lose a CreateAccessKey answer'; }
}

class PersonCreatesKey extends Step {
  constructor(private readonly user: string, steps: number) { super(steps); }
  protected act(world: SimWorld) { return world.personCreatesKey(this.user); }
  protected describe() { return `a person creates a key for ${this.user}`; }
}

class Rotate extends Step {
  protected act(world: SimWorld) { return world.startRotation(); }
  protected describe() { return 'Secrets Manager starts a rotation'; }
}

class RetryRotation extends Step {
  protected act(world: SimWorld) { return world.retryRotation(); }
  protected describe() { return 'Secrets Manager retries the rotation step'; }
}

class DeleteStack extends Step {
  protected act(world: SimWorld) { return world.stack.deleteStack(); }
  protected describe() { return 'delete the stack'; }
}

class Finish extends Step {
  protected act(world: SimWorld) {
    world.stack.finishStackOperation();
    return 'the stack operation ends (cleanup)';
  }
  protected describe() { return 'the siblings succeed'; }
}

class CloudTrailLag extends Step {
  constructor(private readonly ms: number, steps: number) { super(steps); }
  protected act(world: SimWorld) {
    world.trail.lagMs = this.ms;
    return `CloudTrail shows events ${this.ms / 1000} s after the call`;
  }
  protected describe() { return `CloudTrail lags ${this.ms / 1000} s`; }
}

class Wait extends Step {
  constructor(private readonly ms: number, steps: number) { super(steps); }
  protected async act(world: SimWorld) {
    // Everything runs meanwhile: time moves from one timer to the next.
    await drain(world, world.runtime.scheduler, world.time.now() + this.ms);
    return `${this.ms / 60_000} minutes pass`;
  }
  protected describe() { return `wait ${this.ms / 60_000} min`; }
}

const steps = fc.nat({ max: 12 });
const user = fc.constantFrom(...USERS);

/** Every command, weighted towards the lifecycle itself. */
export const COMMANDS = [
  fc.record({ user, serial: fc.constantFrom('1', '2'), steps }).map(({ user: u, serial, steps: n }) => new Deploy(u, serial, n)),
  fc.record({ user, serial: fc.constantFrom('1', '2'), steps }).map(({ user: u, serial, steps: n }) => new Deploy(u, serial, n)),
  steps.map((n) => new SiblingFails(n)),
  steps.map((n) => new Finish(n)),
  steps.map((n) => new LoseAnswers(n)),
  fc.record({ back: fc.nat({ max: 3 }), steps }).map(({ back, steps: n }) => new Redeliver(back, n)),
  fc.record({ count: fc.integer({ min: 1, max: 3 }), steps }).map(({ count, steps: n }) => new Copies(count, n)),
  fc.record({ pick: fc.nat({ max: 5 }), after: fc.nat({ max: 8 }), steps }).map(({ pick, after, steps: n }) => new Kill(pick, after, n)),
  fc.record({ calls: fc.integer({ min: 1, max: 20 }), steps }).map(({ calls, steps: n }) => new Throttle(calls, n)),
  steps.map((n) => new LoseCreateAnswer(n)),
  fc.record({ user, steps }).map(({ user: u, steps: n }) => new PersonCreatesKey(u, n)),
  steps.map((n) => new Rotate(n)),
  steps.map((n) => new RetryRotation(n)),
  steps.map((n) => new DeleteStack(n)),
  fc.record({ ms: fc.constantFrom(60_000, 16 * 60_000, SERVICE_TIMEOUT_MS + 60_000), steps }).map(({ ms, steps: n }) => new Wait(ms, n)),
  fc.record({ ms: fc.constantFrom(0, 30_000, 120_000, 240_000), steps }).map(({ ms, steps: n }) => new CloudTrailLag(ms, n)),
];
