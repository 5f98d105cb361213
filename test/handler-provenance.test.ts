/**
 * Which keys a secret version vouches for (lib/handler/provenance.js): the
 * rule on IAM's and Secrets Manager's clocks, at its edges. The scenarios
 * against moto are in handler-key-provenance.test.ts.
 */
import { VOUCHING_WINDOW_MS, vouchedKeys } from '../lib/handler/provenance';

const USER = 'legacy-mail';
const SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:smtp-AbCdEf';
const KEY = 'AKIAEXAMPLEKEY000001';
const KEY_CREATED = Date.UTC(2026, 11, 7, 8, 0, 0);

/** An AwsPort that knows one key and some versions, and counts its calls. */
function port(versions: Record<string, number | undefined>, keys = [{ accessKeyId: KEY, status: 'Active', createdAt: KEY_CREATED }]) {
  const calls: string[] = [];
  return {
    calls,
    async listAccessKeys() {
      calls.push('ListAccessKeys');
      return keys;
    },
    async versionDates() {
      calls.push('ListSecretVersionIds');
      return new Map(Object.entries(versions).filter(([, date]) => date !== undefined) as Array<[string, number]>);
    },
  };
}

const claim = (versionId: string, accessKeyId = KEY, issued = true) => ({ accessKeyId, secretArn: SECRET, versionId, issued });

describe('vouchedKeys', () => {
  test('a version written up to 16 minutes after the key vouches for it', async () => {
    const aws = port({ v: KEY_CREATED + VOUCHING_WINDOW_MS });

    expect(VOUCHING_WINDOW_MS).toBe(16 * 60_000);
    expect(await vouchedKeys(USER, [claim('v')], aws)).toEqual({ retire: [KEY], refused: [] });
  });

  test('a version written a second later does not, and the reason names the version and the delay', async () => {
    const aws = port({ v: KEY_CREATED + VOUCHING_WINDOW_MS + 1000 });

    const { retire, refused } = await vouchedKeys(USER, [claim('v')], aws);

    expect(retire).toEqual([]);
    expect(refused).toEqual([{ accessKeyId: KEY, why: expect.stringMatching(new RegExp(`^version v of secret ${SECRET} names it, but was written 16 minutes after IAM created the key`)) }]);
  });

  test('a version whose value does not say this handler created the key does not vouch, however early it was written', async () => {
    const { retire, refused } = await vouchedKeys(USER, [claim('v', KEY, false)], port({ v: KEY_CREATED + 5000 }));

    expect(retire).toEqual([]);
    expect(refused[0].why).toMatch(/names it without saying this handler created the key \(a key source's key, or a value someone else wrote\)/);
  });

  test('a version created before the key (Secrets Manager staged it empty when the rotation began) vouches for it', async () => {
    expect((await vouchedKeys(USER, [claim('v')], port({ v: KEY_CREATED - 3600_000 }))).retire).toEqual([KEY]);
  });

  test('without a creation date from either service, nothing is vouched for', async () => {
    const noVersionDate = await vouchedKeys(USER, [claim('v')], port({ v: undefined }));
    const noKeyDate = await vouchedKeys(USER, [claim('v')], port({ v: KEY_CREATED }, [{ accessKeyId: KEY, status: 'Active', createdAt: undefined as unknown as number }]));

    expect(noVersionDate.retire).toEqual([]);
    expect(noVersionDate.refused[0].why).toMatch(/reported no creation date/);
    expect(noKeyDate.retire).toEqual([]);
  });

  test('a key the user no longer has is neither retired nor refused: there is nothing to do', async () => {
    expect(await vouchedKeys(USER, [claim('v', 'AKIAGONE000000000000')], port({ v: KEY_CREATED }))).toEqual({ retire: [], refused: [] });
  });

  test('one vouching version is enough when several name the key', async () => {
    const aws = port({ late: KEY_CREATED + 3 * 3600_000, early: KEY_CREATED + 5000 });

    expect(await vouchedKeys(USER, [claim('late'), claim('early')], aws)).toEqual({ retire: [KEY], refused: [] });
  });

  test('asks nothing when no version names a key, and lists the keys once when given them', async () => {
    const idle = port({});
    const given = port({ v: KEY_CREATED });

    await vouchedKeys(USER, [], idle);
    await vouchedKeys(USER, [claim('v')], given, [{ accessKeyId: KEY, createdAt: KEY_CREATED }]);

    expect(idle.calls).toEqual([]);
    expect(given.calls).toEqual(['ListSecretVersionIds']);
  });
});
