/**
 * One timed synth for `npm run bench`: builds a stack of the given kind with
 * the given number of users and synthesizes it (assets staged) into outdir.
 *
 *   node synth-child.js ours|peer|bare USERS OUTDIR
 *
 * synth-cost.ts runs this precompiled to plain JS, so the time measured
 * is the library's, not the TypeScript compiler's. Prints one JSON line.
 */
import { BENCH_STACK_NAME, buildApp, isStackKind } from './stacks';

async function main(): Promise<void> {
  const [kind, usersArg, outdir] = process.argv.slice(2);
  const users = Number(usersArg);
  if (!kind || !isStackKind(kind) || !Number.isInteger(users) || users < 1 || !outdir) {
    throw new Error('usage: synth-child ours|peer|bare USERS OUTDIR');
  }
  const { app } = await buildApp(kind, users, outdir);
  const built = process.uptime();
  const assembly = app.synth();
  const synthesized = process.uptime();
  const template = assembly.getStackByName(BENCH_STACK_NAME).template as { Resources?: Record<string, unknown> };
  process.stdout.write(`${JSON.stringify({
    kind,
    users,
    resources: Object.keys(template.Resources ?? {}).length,
    // kilobytes on Linux; the fallback when /usr/bin/time is not available
    maxRssKb: process.resourceUsage().maxRSS,
    // from process start: loading modules and constructing the stack
    buildMs: Math.round(built * 1000),
    // app.synth(): validation, asset staging, writing the assembly
    synthMs: Math.round((synthesized - built) * 1000),
  })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
