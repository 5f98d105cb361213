/**
 * `npm run integ:snapshot`: rewrites test/integ.ses-smtp-user.ts.snapshot from
 * a fresh synth, without an AWS account. Prefer the real-account run in the
 * README, which rewrites the snapshot only after its assertions pass.
 */
import * as path from 'node:path';
import { SNAPSHOT_DIR, writeSnapshot } from '../test/support/integ-snapshot';

const files = writeSnapshot();
console.log(`${path.relative(process.cwd(), SNAPSHOT_DIR)}: ${files.join(', ')}`);
