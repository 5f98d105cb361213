/**
 * The stacks `npm run bench` measures, shared by the in-process footprint
 * measurements (footprint.ts) and the timed child processes
 * (synth-child.ts).
 *
 * Each kind loads only what it needs, so a bare stack does not pay for
 * loading this library or the peer.
 */
import { App, BootstraplessSynthesizer, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

export type StackKind = 'ours' | 'peer' | 'bare';
export const STACK_KINDS: readonly StackKind[] = ['ours', 'peer', 'bare'];

export const BENCH_ACCOUNT = '123456789012';
export const BENCH_REGION = 'eu-west-1';
export const BENCH_STACK_NAME = 'SmtpBench';

/** `smtp-user-0001`, `smtp-user-0002`, … (one name length for every count below 10,000). */
export function benchUserName(index: number): string {
  return `smtp-user-${String(index + 1).padStart(4, '0')}`;
}

export function isStackKind(value: string): value is StackKind {
  return (STACK_KINDS as readonly string[]).includes(value);
}

/**
 * A stack with `users` existing IAM users (iam.User.fromUserName) and:
 * - ours: one SesSmtpUser per user;
 * - peer: one @pepperize/cdk-ses-smtp-credentials SesSmtpCredentials per user
 *   (it accepts an existing user, so it creates none);
 * - bare: just one iam.Policy (ses:SendRawEmail) attached to every user.
 * With `selfContained`, the stack synthesizes with a BootstraplessSynthesizer.
 */
export async function buildApp(
  kind: StackKind, users: number, outdir: string, options: { selfContained?: boolean; noResourceLimit?: boolean } = {},
): Promise<{ app: App; stack: Stack }> {
  // noResourceLimit: aws-cdk-lib's (and SesSmtpUser's) 500-resource check off, to measure what grows past it (policy sizes).
  const app = new App({ outdir, ...(options.noResourceLimit ? { context: { '@aws-cdk/core:stackResourceLimit': 0 } } : {}) });
  const stack = new Stack(app, BENCH_STACK_NAME, {
    env: { account: BENCH_ACCOUNT, region: BENCH_REGION },
    // Self-contained: no bootstrap, so SesSmtpUser inlines its handler (HandlerCode.INLINE by default here).
    ...(options.selfContained ? { synthesizer: new BootstraplessSynthesizer() } : {}),
  });
  const iamUsers = Array.from({ length: users }, (_, i) =>
    iam.User.fromUserName(stack, `User${String(i + 1).padStart(4, '0')}`, benchUserName(i)));
  switch (kind) {
    case 'ours': {
      const { SesSmtpUser } = await import('../../lib');
      iamUsers.forEach((user, i) => new SesSmtpUser(stack, `Smtp${i + 1}`, { user }));
      break;
    }
    case 'peer': {
      const { SesSmtpCredentials } = await import('@pepperize/cdk-ses-smtp-credentials');
      iamUsers.forEach((user, i) => new SesSmtpCredentials(stack, `Smtp${i + 1}`, { user }));
      break;
    }
    case 'bare':
      new iam.Policy(stack, 'SendPolicy', {
        users: iamUsers,
        statements: [new iam.PolicyStatement({
          actions: ['ses:SendRawEmail'],
          resources: [stack.formatArn({ service: 'ses', resource: 'identity', resourceName: '*' })],
        })],
      });
      break;
  }
  return { app, stack };
}
