/**
 * `npm run integ:snapshot`: rewrites test/integ.ses-smtp-user.ts.snapshot from
 * a fresh synth, without an AWS account. Review the diff and commit it: the
 * real-account check (`npm run integ:real-account`) deploys only an app whose
 * synth equals the checked-in snapshot, and CI compares the two
 * (test/integ-snapshot.test.ts).
 */
import * as path from 'node:path';
import { SNAPSHOT_DIR, writeSnapshot } from '../test/support/integ-snapshot';

const files = writeSnapshot();
console.log(`${path.relative(process.cwd(), SNAPSHOT_DIR)}: ${files.join(', ')}`);
