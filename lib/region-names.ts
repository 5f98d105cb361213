import { LISTED_REGIONS, isListedRegion, isRegionName } from './contract';

/**
 * What a region name is, as far as synth time can tell. Two sources know AWS's
 * regions: this library's partition table (the AWS SDK's partition data as of
 * this release, lib/handler/partitions.js) and aws-cdk-lib's region list
 * (`aws-cdk-lib/region-info`), which comes with the app's own aws-cdk-lib and
 * may be newer than this library.
 *
 * - NOT_A_REGION: no partition's region syntax (the SDK's regionRegex, in
 *   lower case) matches it, for example `EU-WEST-1`, `eu_west_1`, `Ireland`.
 *   The handler refuses such a name at deploy time, so nothing overrides this.
 * - UNKNOWN: it has a partition's syntax, but neither source lists it, for
 *   example the typo `eu-wset-1`. It may be a region newer than both, so
 *   `smtpHosts` can vouch for it; without that it is an error.
 * - KNOWN: a real region, listed by either source.
 *
 * @internal
 */
export enum RegionName {
  KNOWN = 'KNOWN',
  UNKNOWN = 'UNKNOWN',
  NOT_A_REGION = 'NOT_A_REGION',
}

/**
 * aws-cdk-lib's region list. region-info is loaded only when this library's
 * own table does not list a name: it costs about 70 ms of synth, and a listed
 * region never needs it.
 */
function awsCdkLibRegions(): readonly string[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { RegionInfo } = require('aws-cdk-lib/region-info') as typeof import('aws-cdk-lib/region-info');
  return RegionInfo.regions.map((r) => r.name);
}

/** Classifies a concrete (resolved) region name. */
export function regionName(region: string): RegionName {
  if (!isRegionName(region)) return RegionName.NOT_A_REGION;
  if (isListedRegion(region) || awsCdkLibRegions().includes(region)) return RegionName.KNOWN;
  return RegionName.UNKNOWN;
}

/**
 * The known regions closest to a name: those the fewest edits away, and at
 * most two (a swap of neighbouring letters counts as one, case is ignored).
 * What the user probably meant.
 */
export function closestRegions(name: string, max = 3): string[] {
  const wanted = name.toLowerCase();
  const known = [...new Set([...LISTED_REGIONS, ...awsCdkLibRegions()])].sort();
  const distances = known.map((region) => ({ region, distance: editDistance(wanted, region) }));
  const best = Math.min(...distances.map((r) => r.distance));
  return best > 2 ? [] : distances.filter((r) => r.distance === best).slice(0, max).map((r) => r.region);
}

/** `Did you mean 'eu-west-1'? ` or nothing. */
export function didYouMean(name: string): string {
  const closest = closestRegions(name);
  return closest.length === 0 ? '' : `Did you mean ${closest.map((r) => `'${r}'`).join(' or ')}? `;
}

/** Edit distance with adjacent transpositions (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
