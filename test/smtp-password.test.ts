/**
 * SES SMTP password derivation (AWS's documented SigV4-based algorithm, version 0x04).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { SmtpPassword, deriveSmtpPassword } from '../lib';
import { independentSmtpPassword } from './support/independent-smtp-password';
import { testPython } from './support/prerequisites';

const EXAMPLE_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'; // AWS documentation's example secret key

/**
 * Known answers computed with Python's hmac/hashlib from the algorithm as AWS
 * documents it (kDate over "11111111", then region, "ses", "aws4_request",
 * "SendRawEmail"; 0x04 prefix; base64), not with the code under test.
 */
const KNOWN_ANSWERS: Array<[string, string]> = [
  ['us-east-1', 'BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9'],
  ['eu-west-1', 'BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk'],
  ['eu-central-1', 'BF0/eIJm0ruTHsSjOkRuOGzGF+zeSyE3aiRzrzUQ8LwG'],
  ['ap-southeast-2', 'BLNVIwl1Vk66qi8YP1q44PSaqUtaoyrS/0LT79VaGBfa'],
  ['us-gov-west-1', 'BHW/eHvx1MM9YwW4wrJG6MGVQmLDCAM99G9YiSdGEIAw'],
];

describe('deriveSmtpPassword', () => {
  test.each(KNOWN_ANSWERS)('matches the known answer for the documentation key in %s', (region, expected) => {
    expect(deriveSmtpPassword(EXAMPLE_KEY, region)).toBe(expected);
  });

  test('is 44 base64 characters: 33 bytes starting with version byte 0x04', () => {
    const password = deriveSmtpPassword(EXAMPLE_KEY, 'eu-west-1');

    expect(password).toHaveLength(44);
    const bytes = Buffer.from(password, 'base64');
    expect(bytes).toHaveLength(33);
    expect(bytes[0]).toBe(0x04);
  });

  test('is different in every region for the same key', () => {
    const passwords = KNOWN_ANSWERS.map(([region]) => deriveSmtpPassword(EXAMPLE_KEY, region));

    expect(new Set(passwords).size).toBe(KNOWN_ANSWERS.length);
  });

  test('agrees with an independent WebCrypto implementation for random keys', async () => {
    for (let i = 0; i < 20; i++) {
      const secret = randomBytes(30).toString('base64');
      const region = KNOWN_ANSWERS[i % KNOWN_ANSWERS.length][0];
      expect(deriveSmtpPassword(secret, region)).toBe(await independentSmtpPassword(secret, region));
    }
  });

  test('agrees with Python\'s hmac module for random keys', () => {
    const cases = Array.from({ length: 10 }, (_, i) => [randomBytes(30).toString('base64'), KNOWN_ANSWERS[i % 5][0]]);
    const script = [
      'import hmac, hashlib, base64, json, sys',
      'def derive(key, region):',
      '    sig = hmac.new(("AWS4" + key).encode(), b"11111111", hashlib.sha256).digest()',
      '    for part in (region, "ses", "aws4_request", "SendRawEmail"):',
      '        sig = hmac.new(sig, part.encode(), hashlib.sha256).digest()',
      '    return base64.b64encode(bytes([4]) + sig).decode()',
      'print(json.dumps([derive(k, r) for k, r in json.load(sys.stdin)]))',
    ].join('\n');

    const python = spawnSync(testPython(), ['-c', script], { input: JSON.stringify(cases), encoding: 'utf8' });

    expect(python.status).toBe(0);
    expect(JSON.parse(python.stdout)).toEqual(cases.map(([key, region]) => deriveSmtpPassword(key, region)));
  });

  test('rejects an empty secret access key', () => {
    expect(() => deriveSmtpPassword('', 'eu-west-1')).toThrow('secretAccessKey must be a non-empty string');
  });

  test('rejects something that is not a region, naming it', () => {
    expect(() => deriveSmtpPassword(EXAMPLE_KEY, 'email-smtp.eu-west-1.amazonaws.com')).toThrow("got 'email-smtp.eu-west-1.amazonaws.com'");
  });
});

describe('SmtpPassword.derive', () => {
  test('is the same derivation, for languages without free functions', () => {
    expect(SmtpPassword.derive(EXAMPLE_KEY, 'eu-west-1')).toBe(KNOWN_ANSWERS[1][1]);
  });
});
