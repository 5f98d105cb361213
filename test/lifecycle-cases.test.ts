/**
 * Issue 22's seven ways the handler before the convergence (commit 1ec042f)
 * broke the promise: an access key that nothing names, a secret left current
 * on a key CloudFormation does not hold, a key someone else made deleted.
 * The lifecycle simulation (test/support/sim/) finds them among many paths;
 * here each is one deterministic story, the smallest CloudFormation path
 * that shows it, named as the simulation's census names it
 * (test/support/sim/census.ts, KNOWN_CASES). The real handler runs against
 * moto, with World's stand-ins for CloudFormation's records and CloudTrail
 * (test/support/world.ts); the test plays CloudFormation, Lambda, Secrets
 * Manager, IAM's throttling and a person.
 *
 * CloudFormation is played as the sources in /work/notes/stack-events-research.md
 * describe it:
 * - A sibling fails while the custom resource is in flight: CloudFormation
 *   logs `CREATE_FAILED` "Resource creation cancelled" (`UPDATE_FAILED`
 *   "Resource update cancelled"), does not wait for the answer, and rolls
 *   back at once: a cancelled Create gets a Delete with a physical id
 *   CloudFormation made up, possibly while the Create still runs
 *   (cloudformation-coverage-roadmap#1730 = aws-cdk#26139, aws-cdk#36951,
 *   binxio/cfn-certificate-provider#31); a cancelled Update gets the rollback
 *   Update, old properties and old id (aws-cdk#31541).
 * - An answer that never arrives: after ServiceTimeout (the construct's: 1 h)
 *   `CREATE_FAILED` "CloudFormation did not receive a response from your
 *   Custom Resource…" (copilot-cli#4868), then the same rollback.
 * - A Delete in a cleanup phase is logged without ResourceProperties, and
 *   CloudFormation ignores its failure: the stack still ends UPDATE_COMPLETE.
 * - A failed rollback Delete leaves the stack ROLLBACK_FAILED ("Delete the
 *   stack"), a failed stack Delete DELETE_FAILED ("Delete the stack again"):
 *   CloudFormation User Guide, stack status codes. Deleting the stack then
 *   sends the Delete again, for the physical id CloudFormation still holds.
 * - A stack that goes (rolled back, or deleted) loses its secrets after the
 *   custom resource; the stories end before that: the handler is not called
 *   again, and the keys are what the promise is about.
 * - Lambda retries a failed asynchronous invocation, same event, after about
 *   1 and 2 minutes (Lambda Developer Guide, "Asynchronous invocation").
 * The made-up physical id's format is not documented; the simulation's is used.
 *
 * To catch a delivery in the middle, IAM (or Secrets Manager) throttles the
 * call it is making until the story lets it through (`Throttle`), as in the
 * issue ("still waiting on CreateAccessKey under IAM throttling"): the
 * handler retries a throttled call until its deadline. Time that must pass
 * (ServiceTimeout, Lambda's retry) passes with World.advanceClock. Where a
 * Delete has to wait for a delivery that may still create a key, its Lambda
 * is given a short lifetime: it answers "Not deleted yet" at once instead of
 * looking again a minute later, and deleting the stack again finishes it.
 *
 * Every story ends with the promise (README "No orphaned key"): every key of
 * the user that the handler made is the one CloudFormation's record of the
 * resource names, every secret's AWSCURRENT names that key, and every key
 * someone else made is still there.
 */
import { randomUUID } from 'node:crypto';
import { RESPONSE_MARGIN_MS } from '../lib/handler/deadline';
import type { RetryOptions } from '../lib/handler/retry';
import { awsError, networkError } from './support/aws-errors';
import { CfnResponse, EventOptions, RESPONSE_HOST, RequestType, SAMPLE_SELF, cfnEvent } from './support/cloudformation';
import { REGISTRATION_KEY } from './support/rotating';
import { World } from './support/world';

const USER = 'legacy-mail-relay';
const OTHER_USER = 'legacy-mail-relay-2';
const LOGICAL_ID = 'SmtpCredentials';
const RESOURCE_TYPE = 'Custom::SesSmtpCredentials';
const STACK_ID = SAMPLE_SELF.stackId;
/** The construct's ServiceTimeout: how long CloudFormation waits for an answer. */
const SERVICE_TIMEOUT_MS = 3_600_000;
/** Lambda retries a failed asynchronous invocation after about 1 and 2 minutes. */
const LAMBDA_RETRY_AFTER_MS = [60_000, 120_000];
/**
 * A Lambda with 3 s of work in it (lib/handler/deadline.js): a Delete that
 * must wait for another delivery answers "Not deleted yet" then. The
 * construct's 15-minute Lambda waits, looks again a minute later and finishes.
 */
const SHORT_LIFETIME_MS = RESPONSE_MARGIN_MS + 3_000;
/** While a Throttle holds a call, the handler retries it quickly until its deadline (its own policy, with a short cap). */
const UNTIL_DEADLINE: RetryOptions = { baseMs: 20, capMs: 100 };
/** No call but throttled ones for this long: every delivery waits or has ended. */
const QUIET_MS = 1_000;

const world = new World();
let primary: string;

function props(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    UserName: USER,
    Targets: [{ Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587', SecretArn: primary }],
    OwnerTag: { Key: SAMPLE_SELF.ownerTagKey, Value: SAMPLE_SELF.stackId },
    ...overrides,
  };
}

/** What the construct writes into a rotating primary secret's template Metadata: the resource, its user and regions. */
function registration(userName = USER) {
  return { [REGISTRATION_KEY]: { Resource: LOGICAL_ID, UserName: userName, Targets: [{ Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587' }] } };
}

// ---- CloudFormation ----

type Event = ReturnType<typeof cfnEvent>;

/** One invocation's end: its answer, if one reached the response bucket, and its failure, if Lambda saw one. */
interface Delivered {
  readonly answer?: CfnResponse;
  readonly failure?: Error;
}

/** A request CloudFormation has logged and sent. */
interface Sent {
  readonly event: Event;
  /** The first delivery of it, until it ends. */
  readonly delivery: Promise<Delivered>;
  /** Logs the outcome CloudFormation logs when it takes an answer. */
  readonly logOutcome: (answer: CfnResponse) => void;
}

const log = () => world.records.stack(STACK_ID);
/** CloudFormation's current record of the custom resource (none once it is deleted). */
const record = () => log().resources.get(LOGICAL_ID);

/** Lambda invokes the handler with the event; what this invocation put in the response bucket is its answer. */
async function deliver(event: Event): Promise<Delivered> {
  const before = world.server.raw.length;
  let failure: Error | undefined;
  await world.invoke(event).catch((e: Error) => { failure = e; });
  const answer = world.server.raw.slice(before).map((body) => JSON.parse(body) as CfnResponse).find((a) => a.RequestId === event.RequestId);
  return { answer, failure };
}

/**
 * CloudFormation logs `<ACTION>_IN_PROGRESS` for the resource and sends the
 * request. A Delete of a cleanup phase is logged without properties (the
 * request still carries them).
 */
function logs(type: RequestType, properties: Record<string, unknown>, options: EventOptions = {}, { cleanup = false } = {}): Omit<Sent, 'delivery'> {
  const event = cfnEvent(world.server, type, properties, { stackId: STACK_ID, logicalResourceId: LOGICAL_ID, resourceType: RESOURCE_TYPE, ...options });
  if (!cleanup) return { event, logOutcome: log().request(event) };
  log().begin(LOGICAL_ID, RESOURCE_TYPE, 'DELETE', { physicalId: event.PhysicalResourceId });
  return { event, logOutcome: log().outcomeOf(event) };
}

function sends(type: RequestType, properties: Record<string, unknown>, options: EventOptions = {}, how: { cleanup?: boolean } = {}): Sent {
  const logged = logs(type, properties, options, how);
  return { ...logged, delivery: deliver(logged.event) };
}

/** CloudFormation waits for the answer and logs the outcome. */
async function answered(sent: Sent): Promise<CfnResponse> {
  const { answer } = await sent.delivery;
  if (!answer) throw new Error(`no answer to the ${sent.event.RequestType}`);
  sent.logOutcome(answer);
  return answer;
}

/** A Create, and, if it failed, CloudFormation's rollback: the Delete of the id the answer gave. */
async function create(): Promise<CfnResponse> {
  const answer = await answered(sends('Create', props()));
  if (answer.Status === 'FAILED') await world.send('Delete', props(), { physicalResourceId: answer.PhysicalResourceId });
  return answer;
}

/**
 * A deployment that changes the properties: the Update; then, if it
 * replaced the physical id, the cleanup Delete of the old one; if it
 * failed, the rollback Update (and, if that replaced the id, its cleanup).
 */
async function deploy(next: Record<string, unknown>, current: Record<string, unknown>): Promise<void> {
  const before = record()!.physicalId;
  const update = await answered(sends('Update', next, { physicalResourceId: before, oldResourceProperties: current }));
  if (update.Status === 'SUCCESS') {
    if (update.PhysicalResourceId !== before) await answered(sends('Delete', current, { physicalResourceId: before }, { cleanup: true }));
    return;
  }
  const rollback = await answered(sends('Update', current, { physicalResourceId: before, oldResourceProperties: next }));
  if (rollback.Status === 'SUCCESS' && rollback.PhysicalResourceId !== before) {
    await answered(sends('Delete', next, { physicalResourceId: rollback.PhysicalResourceId }, { cleanup: true }));
  }
}

/** A sibling failed: CloudFormation logs the request in flight as cancelled and stops waiting for its answer. */
function cancel(sent: Sent): void {
  const update = sent.event.RequestType === 'Update';
  log().note(LOGICAL_ID, RESOURCE_TYPE, update ? 'UPDATE_FAILED' : 'CREATE_FAILED', sent.event.PhysicalResourceId ?? '',
    `Resource ${update ? 'update' : 'creation'} cancelled`);
}

/** ServiceTimeout passed without an answer to a Create: CloudFormation logs it as failed. */
function createTimedOut(sent: Sent): void {
  log().finish(LOGICAL_ID, RESOURCE_TYPE, 'CREATE', false, sent.event.PhysicalResourceId ?? '',
    `CloudFormation did not receive a response from your Custom Resource. Please check your logs for requestId [${sent.event.RequestId}].`);
}

/** The physical id CloudFormation makes up for the rollback Delete of a Create that never answered. */
function madeUpPhysicalId(): string {
  return `LegacyMailApp-${LOGICAL_ID}-${randomUUID().replace(/-/g, '').slice(0, 12).toUpperCase()}`;
}

/** `cdk destroy`, or deleting a stack that failed to roll back: CloudFormation deletes the resource if it still holds it. */
async function deleteStack(properties: Record<string, unknown>, remainingMs?: number): Promise<void> {
  // delete-stack begins with the stack's own DELETE_IN_PROGRESS "User Initiated".
  log().beginStackOperation('DELETE');
  const held = record();
  if (held) await world.send('Delete', properties, { physicalResourceId: held.physicalId }, remainingMs);
}

/** Lambda delivers a failed invocation's event again, after about 1 and 2 minutes, until one succeeds. */
async function lambdaRetries(sent: Sent): Promise<void> {
  let { failure } = await sent.delivery;
  for (const after of LAMBDA_RETRY_AFTER_MS) {
    if (!failure) return;
    await world.advanceClock(after);
    ({ failure } = await deliver(sent.event));
  }
}

/** Updates a secret's template Metadata, as CloudFormation does when a deployment changes the registration. */
function updateSecretMetadata(secretArn: string, metadata: unknown): void {
  const [logicalId] = [...log().resources.entries()].find(([, r]) => r.physicalId === secretArn)!;
  log().begin(logicalId, 'AWS::SecretsManager::Secret', 'UPDATE', { physicalId: secretArn, metadata });
  log().finish(logicalId, 'AWS::SecretsManager::Secret', 'UPDATE', true, secretArn);
}

// ---- AWS, playing for time ----

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`test: waited ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * AWS answers Throttling to some calls until the story lets them through: a
 * delivery making such a call waits right there, retrying as the handler
 * does, until release(). Every other call goes through.
 */
class Throttle {
  private holding = true;
  private refused = 0;
  private lastPassed = Date.now();

  constructor(private readonly applies: (command: string, input: Record<string, unknown>) => boolean) {
    world.retry = UNTIL_DEADLINE;
    world.fault = (command, input) => {
      if (this.holding && this.applies(command, input)) {
        this.refused++;
        return command === 'PutSecretValue' ? awsError('ThrottlingException', 'Rate exceeded') : awsError('Throttling', 'Rate exceeded');
      }
      this.lastPassed = Date.now();
      return undefined;
    };
  }

  /** Resolves once a delivery is held here. */
  async holds(): Promise<void> {
    await until(() => this.refused > 0, 'a delivery to reach the throttled call');
  }

  /** Resolves once every delivery waits (here, or for another delivery) or has ended: for a while, no call but refused ones. */
  async quiet(): Promise<void> {
    await until(() => Date.now() - this.lastPassed >= QUIET_MS, 'the deliveries to settle into waiting');
  }

  release(): void {
    this.holding = false;
  }
}

/** Only the user's first CreateAccessKey answer is lost: IAM made the key, the connection broke on the way back. */
function loseFirstCreateAccessKeyAnswer(): (command: string) => Error | undefined {
  let lost = false;
  return (command) => {
    if (command !== 'CreateAccessKey' || lost) return undefined;
    lost = true;
    return networkError();
  };
}

// ---- the promise ----

/**
 * Every key of the user besides `foreign` is the one CloudFormation's record
 * names (its physical id; none once the resource is gone or the id names
 * none), the secret's AWSCURRENT names that key, and every key in `foreign`
 * is still there.
 */
async function expectPromiseKept(foreign: string[] = []): Promise<void> {
  const named = /^key\/[^/]+\/([^/]+)\/[0-9a-f]{16}$/.exec(record()?.physicalId ?? '')?.[1];
  const keys = await world.keysOf(USER);
  expect(keys.filter((k) => !foreign.includes(k))).toEqual(named ? [named] : []);
  expect(keys).toEqual(expect.arrayContaining(foreign));
  if (named) expect((await world.currentCredentials(primary))?.username).toBe(named);
}

/**
 * World captures the handler's log lines call by call; with deliveries that
 * overlap, a line can come after an overlapping call's capture ended. Those
 * go to world.logs too, not to the test output.
 */
const LEVELS = ['log', 'info', 'warn', 'error', 'debug'] as const;
const realConsole = LEVELS.map((level) => console[level]);
beforeAll(async () => {
  for (const level of LEVELS) console[level] = (...args: unknown[]) => { world.logs.push(args.map(String).join(' ')); };
  await world.start();
});
afterAll(async () => {
  LEVELS.forEach((level, i) => { console[level] = realConsole[i]; });
  await world.stop();
});
beforeEach(async () => {
  await world.reset();
  world.retry = undefined;
  await world.createUser(USER);
  await world.createUser(OTHER_USER);
});

describe('case 1: a cancelled Create leaves its key', () => {
  test('a Create cancelled while IAM throttles it, rolled back while it still runs: its key goes', async () => {
    primary = await world.createEmptySecret('smtp/eu-west-1');
    const iam = new Throttle((command) => command === 'CreateAccessKey');
    const creating = sends('Create', props());
    await iam.holds();

    cancel(creating);
    await world.send('Delete', props(), { physicalResourceId: madeUpPhysicalId() }, SHORT_LIFETIME_MS);
    iam.release();
    await creating.delivery;
    await deleteStack(props());

    await expectPromiseKept();
  });
});

describe('a rollback that fails, then delete-stack', () => {
  test('a cancelled Create\'s rollback Delete that IAM throttles past its lifetime (ROLLBACK_FAILED): delete-stack later finishes it', async () => {
    primary = await world.createEmptySecret('smtp/eu-west-1');
    log().beginStackOperation('CREATE');
    const creating = sends('Create', props());
    const answered = await creating.delivery;
    expect(answered.answer?.Status).toBe('SUCCESS');
    // A sibling fails after the answer left, before CloudFormation logged it: CloudFormation cancels and rolls back.
    cancel(creating);
    const iam = new Throttle((command) => command === 'DeleteAccessKey');
    const rollback = await world.send('Delete', props(), { physicalResourceId: madeUpPhysicalId() }, SHORT_LIFETIME_MS);
    expect(rollback.Status).toBe('FAILED'); // ROLLBACK_FAILED: "Delete the stack"
    iam.release();
    await world.advanceClock(60 * 60_000);

    await deleteStack(props());

    await expectPromiseKept();
  });
});

describe('case 2: a Create whose answer was lost leaves its key', () => {
  test('a Create whose three PUTs to the response bucket fail, rolled back after ServiceTimeout: its key goes', async () => {
    primary = await world.createEmptySecret('smtp/eu-west-1');
    // The response bucket refuses every PUT to this URL (HTTP 403); the handler tries three times.
    const requestId = randomUUID();
    const responseUrl = `https://${RESPONSE_HOST}/lost-answers/${requestId}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=7200`;
    const creating = sends('Create', props(), { requestId, responseUrl });
    expect((await creating.delivery).answer).toBeUndefined();
    expect(world.logs.some((line) => line.includes('could not answer CloudFormation'))).toBe(true);

    await world.advanceClock(SERVICE_TIMEOUT_MS);
    createTimedOut(creating);
    await world.send('Delete', props(), { physicalResourceId: madeUpPhysicalId() });

    await expectPromiseKept();
  });
});

describe('case 3: a cancelled Update leaves the secret on a key CloudFormation does not know', () => {
  test('an Update cancelled while IAM throttles it, whose rollback finishes first: the secret stays on the key CloudFormation holds', async () => {
    primary = await world.createEmptySecret('smtp/eu-west-1');
    const created = await create();
    expect(created.Status).toBe('SUCCESS');
    const iam = new Throttle((command) => command === 'CreateAccessKey');
    const updating = sends('Update', props({ Serial: '2' }), { physicalResourceId: created.PhysicalResourceId, oldResourceProperties: props() });
    await iam.holds();

    cancel(updating);
    const rollback = sends('Update', props(), { physicalResourceId: created.PhysicalResourceId, oldResourceProperties: props({ Serial: '2' }) });
    expect((await answered(rollback)).Status).toBe('SUCCESS');
    iam.release();
    await updating.delivery;
    await lambdaRetries(rollback);

    expect(record()?.physicalId).toBe(created.PhysicalResourceId);
    await expectPromiseKept();
  });
});

describe('case 4: a rotation overlapping the stack delete leaves a key', () => {
  test('a createSecret held in CreateAccessKey while the stack is deleted: the key it makes goes', async () => {
    primary = await world.createEmptySecret('smtp/eu-west-1', registration());
    expect((await create()).Status).toBe('SUCCESS');
    const token = await world.beginRotation(primary);
    const iam = new Throttle((command) => command === 'CreateAccessKey');
    const createSecret = world.invoke({ Step: 'createSecret', SecretId: primary, ClientRequestToken: token }).catch((e: Error) => e);
    await iam.holds();

    await deleteStack(props(), SHORT_LIFETIME_MS);
    iam.release();
    await createSecret;
    await deleteStack(props());

    expect(record()).toBeUndefined();
    await expectPromiseKept();
  });
});

describe('case 5: a cleanup Delete that fails leaves a key for ever', () => {
  test('a cleanup Delete that IAM throttles past what the handler retries: the next deployment retires the replaced key', async () => {
    primary = await world.createEmptySecret('smtp/eu-west-1');
    const created = await create();
    const updated = await answered(sends('Update', props({ Serial: '2' }), { physicalResourceId: created.PhysicalResourceId, oldResourceProperties: props() }));
    expect(updated.Status).toBe('SUCCESS');

    // UPDATE_COMPLETE_CLEANUP_IN_PROGRESS: the Delete of the replaced id fails; CloudFormation ignores that.
    world.fault = (command) => (command === 'DeleteAccessKey' ? awsError('Throttling', 'Rate exceeded') : undefined);
    const cleanup = await answered(sends('Delete', props(), { physicalResourceId: created.PhysicalResourceId }, { cleanup: true }));
    expect(cleanup.Status).toBe('FAILED');
    world.fault = undefined;
    await deploy(props({ Serial: '3' }), props({ Serial: '2' }));

    await expectPromiseKept();
  });
});

describe('case 6: copies of a genuine delivery race it and leave a key', () => {
  test('three copies of a Create ahead of CloudFormation\'s own delivery: one key, the one CloudFormation holds', async () => {
    primary = await world.createEmptySecret('smtp/eu-west-1');
    // Credential writes wait, so every delivery is under way before any of them has written.
    const writes = new Throttle((command, input) => command === 'PutSecretValue' && String(input.SecretString).includes('"password"'));
    const genuine = logs('Create', props());
    const copies = [1, 2, 3].map(() => {
      const requestId = randomUUID();
      return deliver({ ...genuine.event, RequestId: requestId, ResponseURL: world.server.url(requestId) });
    });
    await writes.quiet();

    const delivery = deliver(genuine.event);
    await writes.quiet();
    writes.release();
    await Promise.all(copies);
    const answer = await answered({ ...genuine, delivery });
    if (answer.Status === 'FAILED') await world.send('Delete', props(), { physicalResourceId: answer.PhysicalResourceId });

    await expectPromiseKept();
  });
});

describe('case 7: the reconciliation after an ambiguous CreateAccessKey deletes a key someone else made', () => {
  test('a person\'s key made a moment before a CreateAccessKey whose answer is lost: it stays', async () => {
    primary = await world.createEmptySecret('smtp/eu-west-1');
    const personsKey = await world.createForeignKey(USER);
    world.faultAfter = loseFirstCreateAccessKeyAnswer();

    await create();

    await expectPromiseKept([personsKey]);
  });
});

describe('a scheduled rotation while CloudFormation works on the resource its registration names', () => {
  /** What a refused step must not change: both users' keys and tags, the secret's versions and value. */
  async function snapshot() {
    return {
      keys: [await world.keysOf(USER), await world.keysOf(OTHER_USER)],
      tags: [await world.userTags(USER), await world.userTags(OTHER_USER)],
      stages: await world.stages(primary),
      current: await world.currentValue(primary),
    };
  }

  async function rotationStep(): Promise<{ failure?: Error; before: unknown }> {
    const token = await world.beginRotation(primary);
    const before = await snapshot();
    const failure = await world.invoke({ Step: 'createSecret', SecretId: primary, ClientRequestToken: token }).then(() => undefined, (e: Error) => e);
    return { failure, before };
  }

  beforeEach(async () => {
    primary = await world.createEmptySecret('smtp/eu-west-1', registration());
    expect((await create()).Status).toBe('SUCCESS');
  });

  test('refuses while the resource is UPDATE_IN_PROGRESS (a change of user under way), and changes nothing', async () => {
    updateSecretMetadata(primary, registration(OTHER_USER));
    logs('Update', props({ UserName: OTHER_USER }), { physicalResourceId: record()!.physicalId, oldResourceProperties: props() });

    const { failure, before } = await rotationStep();

    expect(failure?.message).toMatch(`Refused: ${LOGICAL_ID} is UPDATE_IN_PROGRESS; a rotation waits until CloudFormation has finished with it`);
    expect(await snapshot()).toEqual(before);
  });

  test('refuses while CloudFormation still holds the resource for another IAM user, and changes nothing', async () => {
    // The deployment changed the secret's registration to the other user and has not begun on the resource yet.
    updateSecretMetadata(primary, registration(OTHER_USER));

    const { failure, before } = await rotationStep();

    expect(failure?.message).toMatch(`Refused: the rotation registration names IAM user '${OTHER_USER}', but CloudFormation holds ${LOGICAL_ID} as key/${USER}/`);
    expect(await snapshot()).toEqual(before);
  });
});
