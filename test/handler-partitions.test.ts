/**
 * The handler in the AWS European Sovereign Cloud (partition aws-eusc, region
 * eusc-de-east-1, hosts under amazonaws.eu, ARNs arn:aws-eusc:...), end to
 * end against moto: CloudFormation's request is answered at the region's
 * response bucket and the secret gets a password derived for the region.
 * Before the partition table, the ResponseURL check knew only amazonaws.com(.cn)
 * and the region checks only two-letter prefixes, so no request was answered.
 */
import { EUSC_RESPONSE_HOST, foreignHosts } from './support/cloudformation';
import { independentSmtpPassword } from './support/independent-smtp-password';
import { World } from './support/world';

const REGION = 'eusc-de-east-1';
const EUSC_SELF = Object.freeze({
  stackId: `arn:aws-eusc:cloudformation:${REGION}:123456789012:stack/LegacyMailApp/guid`,
  ownerTagKey: `SesSmtpCredentials:${REGION}/LegacyMailApp`,
  functionName: 'handler',
  region: REGION,
  functionLogicalId: 'SesSmtpCredentialsHandlerFunctionA36E38FF',
});
const USER = 'legacy-mail-relay';
const world = new World(EUSC_SELF, EUSC_RESPONSE_HOST);
let secretArn: string;

/** What the construct writes for a SesSmtpUser in eusc-de-east-1 (its host from the same table). */
function props() {
  return world.credentialsProperties(USER, secretArn, {}, REGION);
}

beforeAll(() => world.start());
afterAll(() => world.stop());
beforeEach(async () => {
  await world.reset();
  await world.createUser(USER);
  secretArn = await world.createEmptySecret(`smtp/${REGION}`);
});

describe('a stack in eusc-de-east-1', () => {
  test('has its secrets in the aws-eusc partition and its SMTP host under amazonaws.eu', () => {
    expect(secretArn).toMatch(/^arn:aws-eusc:secretsmanager:eusc-de-east-1:123456789012:secret:/);
    expect(props().Targets[0].Host).toBe('email-smtp.eusc-de-east-1.amazonaws.eu');
  });

  test('a Create is answered at the amazonaws.eu response bucket and stores a password derived for eusc-de-east-1', async () => {
    const foreignBefore = foreignHosts().length;

    const answer = await world.send('Create', props());

    expect(world.server.url('x')).toContain(`https://${EUSC_RESPONSE_HOST}/`);
    expect(answer.Status).toBe('SUCCESS');
    expect(foreignHosts().length).toBe(foreignBefore);
    const [accessKeyId] = await world.keysOf(USER);
    expect(answer.Data).toEqual({ AccessKeyId: accessKeyId });
    const value = await world.currentValue(secretArn);
    expect(value).toMatchObject({
      username: accessKeyId,
      host: 'email-smtp.eusc-de-east-1.amazonaws.eu',
      port: 587,
      region: REGION,
    });
    expect(value?.password).toBe(await independentSmtpPassword(world.secretOf(accessKeyId).secretAccessKey, REGION));
  });

  test('a Delete after it removes the key', async () => {
    const created = await world.send('Create', props());

    const deleted = await world.send('Delete', props(), { physicalResourceId: created.PhysicalResourceId });

    expect(deleted.Status).toBe('SUCCESS');
    expect(await world.keysOf(USER)).toEqual([]);
  });

  test('a request whose ResponseURL is the bucket name under the commercial partition\'s amazonaws.com gets no answer and changes nothing', async () => {
    const foreignBefore = foreignHosts().length;

    const answer = await world.forge('Create', props(), { responseUrl: 'https://cloudformation-custom-resource-response-euscdeeast1.s3.amazonaws.com/x' });

    expect(answer).toBeUndefined();
    expect(world.calls).toEqual([]);
    expect(foreignHosts().length).toBe(foreignBefore);
    expect(await world.keysOf(USER)).toEqual([]);
    expect(world.logs.join('\n')).toContain(`is not an https URL of CloudFormation's response bucket in ${REGION}`);
  });
});
