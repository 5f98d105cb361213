/**
 * The handler's pure rules: what it accepts, how it names what it issued,
 * what it writes and how it words AWS errors.
 */
import {
  SECRET_FIELDS, assertLongTermKeyId, explainAwsError, failedCreatePhysicalId, fingerprint, formatPhysicalId,
  parsePhysicalId, parseRequest, renderSecret,
} from '../lib/handler/model';
import { awsError } from './support/aws-errors';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:smtp-AbCdEf';
const valid = (overrides: Record<string, unknown> = {}) => ({
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:f',
  UserName: 'legacy-mail-relay',
  Targets: [{ Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587', SecretArn: ARN }],
  ...overrides,
});

describe('parseRequest', () => {
  test('accepts CloudFormation\'s string-typed properties and normalises the port to a number', () => {
    expect(parseRequest(valid())).toEqual({
      userName: 'legacy-mail-relay',
      targets: [{ region: 'eu-west-1', host: 'email-smtp.eu-west-1.amazonaws.com', port: 587, secretArn: ARN }],
      serial: '',
    });
  });

  test.each([
    [{ UserName: 'has space' }, "UserName must be an IAM user name (1-64 characters of letters, digits and +=,.@_-), got 'has space'"],
    [{ UserName: undefined }, "got 'undefined'"],
    [{ Targets: [] }, 'Targets must list at least one SMTP region and its secret'],
    [{ Targets: [{ Region: 'Europe', Host: 'h', Port: '587', SecretArn: ARN }] }, "Target Region must be an AWS region name such as 'eu-west-1', 'us-gov-west-1' or 'eusc-de-east-1', got 'Europe'"],
    [{ Targets: [{ Region: 'eu-west-1', Host: 'h', Port: '70000', SecretArn: ARN }] }, "Port for eu-west-1 must be a TCP port number, got '70000'"],
    [{ Targets: [{ Region: 'eu-west-1', Host: 'h', Port: '587', SecretArn: 'my-secret' }] }, "SecretArn for eu-west-1 must be a Secrets Manager secret ARN, got 'my-secret'"],
    [{ Targets: [{ Region: 'eu-west-1', Host: 'two words', Port: '587', SecretArn: ARN }] }, "Host for eu-west-1 must be a host name, got 'two words'"],
    [{ Source: { SecretArn: ARN } }, 'Source needs AccessKeyIdField or AccessKeyId'],
    [{ Source: { SecretArn: 'nope', AccessKeyIdField: 'AccessKeyId' } }, "Source SecretArn must be a Secrets Manager secret ARN, got 'nope'"],
  ])('rejects %j with a message naming the value', (overrides, message) => {
    expect(() => parseRequest(valid(overrides))).toThrow(message);
  });

  test.each([
    ['eusc-de-east-1', 'arn:aws-eusc:secretsmanager:eusc-de-east-1:123456789012:secret:smtp-AbCdEf'],
    ['us-gov-east-1', 'arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:smtp-AbCdEf'],
    ['cn-north-1', 'arn:aws-cn:secretsmanager:cn-northwest-1:123456789012:secret:smtp-AbCdEf'],
    ['eu-west-9', ARN],
  ])('accepts region %s and secret %s: every partition the partition table knows, and regions newer than it', (region, secretArn) => {
    expect(parseRequest(valid({ Targets: [{ Region: region, Host: 'h', Port: '587', SecretArn: secretArn }] })).targets[0])
      .toEqual({ region, host: 'h', port: 587, secretArn });
  });

  test.each([
    ['a region in capitals', { Region: 'EU-WEST-1' }, "Target Region must be an AWS region name such as 'eu-west-1', 'us-gov-west-1' or 'eusc-de-east-1', got 'EU-WEST-1'"],
    ['a region of no partition', { Region: 'xx-north-9' }, "got 'xx-north-9'"],
    ['a secret ARN whose partition is not its region\'s', { SecretArn: 'arn:aws:secretsmanager:eusc-de-east-1:123456789012:secret:smtp-AbCdEf' }, 'must be a Secrets Manager secret ARN'],
    ['a secret ARN of an unknown partition', { SecretArn: 'arn:aws-moon:secretsmanager:eu-west-1:123456789012:secret:smtp-AbCdEf' }, 'must be a Secrets Manager secret ARN'],
    ['an ARN of another service', { SecretArn: 'arn:aws:ssm:eu-west-1:123456789012:parameter/smtp' }, 'must be a Secrets Manager secret ARN'],
  ])('rejects %s', (_what, target, message) => {
    expect(() => parseRequest(valid({ Targets: [{ ...valid().Targets[0], ...target }] }))).toThrow(message);
  });

  test('rejects a region listed twice', () => {
    const target = valid().Targets[0];

    expect(() => parseRequest(valid({ Targets: [target, { ...target, SecretArn: `${ARN}2` }] }))).toThrow('Targets name a region twice: eu-west-1, eu-west-1');
  });
});

describe('fingerprint', () => {
  const base = fingerprint(parseRequest(valid()));

  test('is stable and ignores the ServiceToken', () => {
    expect(fingerprint(parseRequest(valid({ ServiceToken: 'other' })))).toBe(base);
    expect(base).toMatch(/^[0-9a-f]{16}$/);
  });

  test.each([
    ['user', { UserName: 'other-user' }],
    ['serial', { Serial: '2' }],
    ['region', { Targets: [{ Region: 'eu-central-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587', SecretArn: ARN }] }],
    ['host', { Targets: [{ Region: 'eu-west-1', Host: 'email-smtp-fips.eu-west-1.amazonaws.com', Port: '587', SecretArn: ARN }] }],
    ['port', { Targets: [{ Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '465', SecretArn: ARN }] }],
    ['secret', { Targets: [{ Region: 'eu-west-1', Host: 'email-smtp.eu-west-1.amazonaws.com', Port: '587', SecretArn: `${ARN}x` }] }],
    ['key source', { Source: { SecretArn: ARN, AccessKeyIdField: 'AccessKeyId', SecretAccessKeyField: 'SecretAccessKey' } }],
  ])('changes when the %s changes', (_what, overrides) => {
    expect(fingerprint(parseRequest(valid(overrides)))).not.toBe(base);
  });
});

describe('physical ids', () => {
  test('round-trip the user, the key and the fingerprint', () => {
    const issued = { mode: 'key' as const, userName: 'app+mail@corp', accessKeyId: 'AKIAIOSFODNN7EXAMPLE', fingerprint: '0123456789abcdef' };

    expect(parsePhysicalId(formatPhysicalId(issued))).toEqual(issued);
  });

  test.each([
    ['a failed Create', failedCreatePhysicalId('4f1c-aa')],
    ['a log stream name', '2026/11/23/[$LATEST]abcdef'],
    ['an unknown mode', 'user/legacy/AKIAIOSFODNN7EXAMPLE/0123456789abcdef'],
    ['a bad fingerprint', 'key/legacy/AKIAIOSFODNN7EXAMPLE/xyz'],
    ['nothing', undefined],
  ])('are not recognised from %s, so Delete touches no key', (_what, id) => {
    expect(parsePhysicalId(id)).toBeUndefined();
  });
});

describe('assertLongTermKeyId', () => {
  test('accepts a long-term key id', () => {
    expect(() => assertLongTermKeyId('AKIAIOSFODNN7EXAMPLE', 'source')).not.toThrow();
  });

  test('rejects temporary STS credentials and says why', () => {
    expect(() => assertLongTermKeyId('ASIAIOSFODNN7EXAMPLE', 'Source secret X'))
      .toThrow("Source secret X holds a temporary (STS) access key id 'ASIAIOSFODNN7EXAMPLE'. SES SMTP credentials can only be derived from a long-term IAM user key");
  });

  test('rejects something else without echoing it, in case it is a secret in the wrong field', () => {
    const misplaced = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

    expect(() => assertLongTermKeyId(misplaced, 'Source secret X')).toThrow('does not look like an IAM access key id');
    try {
      assertLongTermKeyId(misplaced, 'Source secret X');
    } catch (e) {
      expect((e as Error).message).not.toContain(misplaced);
    }
  });
});

describe('renderSecret', () => {
  test('writes exactly username, password, host, port and region', () => {
    const doc = JSON.parse(renderSecret('AKIAIOSFODNN7EXAMPLE', 'pw', { region: 'eu-west-1', host: 'h', port: 587, secretArn: ARN }));

    expect(Object.keys(doc)).toEqual([...SECRET_FIELDS]);
    expect(doc).toEqual({ username: 'AKIAIOSFODNN7EXAMPLE', password: 'pw', host: 'h', port: 587, region: 'eu-west-1' });
  });
});

describe('explainAwsError', () => {
  test.each([
    ['AccessDenied', 'Access denied while doing it (AccessDenied: no). A Service Control Policy'],
    ['NoSuchEntityException', 'Not found while doing it (NoSuchEntityException: no). Check that the IAM user exists'],
    ['ResourceNotFoundException', 'The secret may have been deleted outside CloudFormation'],
    ['KMSDisabledException', 'KMS refused doing it (KMSDisabledException: no). Check that the KMS key is enabled'],
    ['Throttling', 'Throttling while doing it: no'],
  ])('words %s for the person deploying', (name, expected) => {
    expect(explainAwsError(awsError(name, 'no'), 'doing it')).toContain(expected);
  });

  describe('an AccessDenied on an IAM user', () => {
    // IAM's denial names the user as 'user <name>' or by its ARN, with the path (public CLI transcripts).
    const byName = 'User: arn:aws:sts::111122223333:assumed-role/H/fn is not authorized to perform: iam:TagUser on resource: user legacy-mail-relay '
      + 'because no identity-based policy allows the iam:TagUser action';
    const byArn = 'User: arn:aws:sts::111122223333:assumed-role/H/fn is not authorized to perform: iam:CreateAccessKey on resource: '
      + 'arn:aws:iam::111122223333:user/mail/legacy-mail-relay';

    test('leads with the fix for a user with a path given by name, then the SCP hint', () => {
      const explained = explainAwsError(awsError('AccessDenied', byName), "tagging IAM user 'legacy-mail-relay' with K");

      const pathHint = explained.indexOf("If IAM user 'legacy-mail-relay' has a path (aws iam get-user --user-name legacy-mail-relay shows it in the Arn), "
        + "it must be given to SesSmtpUser by ARN, iam.User.fromUserArn(this, 'User', 'arn:<partition>:iam::<account>:user/<path>/legacy-mail-relay') "
        + '(iam.User.fromUserName assumes the root path');
      const scpHint = explained.indexOf('Otherwise a Service Control Policy, permissions boundary or key policy may block the handler\'s role.');
      expect(pathHint).toBeGreaterThan(0);
      expect(scpHint).toBeGreaterThan(pathHint);
    });

    test('names the path and the exact ARN to give when IAM\'s message shows them', () => {
      const explained = explainAwsError(awsError('AccessDenied', byArn), "creating an access key for IAM user 'legacy-mail-relay'");

      expect(explained).toContain('IAM names the user arn:aws:iam::111122223333:user/mail/legacy-mail-relay, with the path /mail/: '
        + "if SesSmtpUser got it by name, give it by ARN instead, iam.User.fromUserArn(this, 'User', 'arn:aws:iam::111122223333:user/mail/legacy-mail-relay')");
    });

    test('keeps only the SCP hint where the call was not about an IAM user', () => {
      const explained = explainAwsError(awsError('AccessDeniedException', 'no'), 'writing secret arn:aws:secretsmanager:eu-west-1:111122223333:secret:x');

      expect(explained).toBe('Access denied while writing secret arn:aws:secretsmanager:eu-west-1:111122223333:secret:x (AccessDeniedException: no). '
        + 'A Service Control Policy, permissions boundary or key policy may block the handler\'s role.');
    });
  });

  test('does not quote the message of an error that is not an AWS answer, which may hold a response body', () => {
    const parseFailure = new SyntaxError('Unexpected token in JSON at position 12: {"SecretString":"wJalrXUtnFEMI/K7MDENG"');

    const explained = explainAwsError(parseFailure, 'reading secret x');

    expect(explained).toBe('SyntaxError while reading secret x');
    expect(explained).not.toContain('wJalr');
  });
});
