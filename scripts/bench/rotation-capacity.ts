/**
 * Users per stack with scheduled rotation (`rotateEvery`): each rotating
 * SesSmtpUser adds a rotation schedule and an invoke permission to the three
 * resources every SesSmtpUser has. Counted from synthesized templates, in
 * process, up to CloudFormation's 500 resources.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CFN_RESOURCE_LIMIT } from './limits';
import { BENCH_ACCOUNT, BENCH_REGION, BENCH_STACK_NAME, benchUserName } from './stacks';

export interface RotationCapacity { perUser: number; fixed: number; maxUsersUnder500: number; resourcesAtMax: number }

async function resourcesWith(users: number): Promise<number> {
  const { SesSmtpUser } = await import('../../lib');
  const app = new App();
  const stack = new Stack(app, BENCH_STACK_NAME, { env: { account: BENCH_ACCOUNT, region: BENCH_REGION } });
  for (let i = 0; i < users; i++) {
    const user = iam.User.fromUserName(stack, `User${i + 1}`, benchUserName(i));
    new SesSmtpUser(stack, `Smtp${i + 1}`, { user, rotateEvery: Duration.days(30) });
  }
  try {
    return Object.keys(Template.fromStack(stack).toJSON().Resources).length;
  } catch (e) {
    // aws-cdk-lib itself refuses a template over CloudFormation's limit.
    if (/TooManyResourcesInStack/.test(String(e))) return Number.POSITIVE_INFINITY;
    throw e;
  }
}

export async function rotationCapacity(): Promise<RotationCapacity> {
  const one = await resourcesWith(1);
  const perUser = (await resourcesWith(2)) - one;
  const fixed = one - perUser;
  let n = Math.floor((CFN_RESOURCE_LIMIT - fixed) / perUser);
  // Policies split into OverflowPolicies as they grow: step down until the count fits.
  while (n > 0 && (await resourcesWith(n)) > CFN_RESOURCE_LIMIT) n--;
  return { perUser, fixed, maxUsersUnder500: n, resourcesAtMax: await resourcesWith(n) };
}
