/**
 * Synth cost: wall time and peak RSS of a child process that builds a stack
 * and synthesizes it (synth-child.ts, precompiled to plain JS), kinds
 * alternating, medians and ratios to the bare stack.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { ROOT, RUNS, SYNTH_SIZES, childEnv, log, median, round, tmpDir } from './common';
import { StackKind } from './stacks';

const TIME_BIN = '/usr/bin/time';

export interface SynthSample { kind: StackKind; users: number; round: number; resources: number; wallMs: number; buildMs: number; synthMs: number; maxRssKb: number; rssSource: string }

/**
 * Compiles the child script, the shared stack builder and lib/ to plain JS
 * (transpile only, as the published package would ship), so every kind is
 * timed with plain `node` and none pays for the TypeScript compiler.
 *
 * lib/ goes where an app has it, under node_modules (the peer is there too):
 * aws-cdk-lib renders each construct's creation stack with the frames of
 * node_modules packages folded into one line, so a library outside
 * node_modules would pay for rendering frames no user's app renders.
 * `lib/index.js` next to the child script forwards to it.
 */
function buildSynthChild(): string {
  const out = tmpDir('build');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, isolatedModules: true,
  };
  const compile = (from: string, to: string) => {
    for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
      const src = path.join(from, entry.name);
      const dst = path.join(to, entry.name);
      if (entry.isDirectory()) {
        compile(src, dst);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        fs.mkdirSync(to, { recursive: true });
        const js = ts.transpileModule(fs.readFileSync(src, 'utf8'), { compilerOptions: options, fileName: src }).outputText;
        fs.writeFileSync(dst.replace(/\.ts$/, '.js'), js);
      } else if (entry.isFile()) {
        fs.mkdirSync(to, { recursive: true });
        fs.copyFileSync(src, dst);
      }
    }
  };
  const installed = path.join(out, 'node_modules', 'ses-smtp-credentials', 'lib');
  compile(path.join(ROOT, 'lib'), installed);
  fs.mkdirSync(path.join(out, 'lib'));
  fs.writeFileSync(path.join(out, 'lib', 'index.js'), `module.exports = require(${JSON.stringify(installed)});\n`);
  const childDir = path.join(out, 'scripts', 'bench');
  fs.mkdirSync(childDir, { recursive: true });
  for (const name of ['synth-child.ts', 'stacks.ts']) {
    const src = path.join(ROOT, 'scripts', 'bench', name);
    const js = ts.transpileModule(fs.readFileSync(src, 'utf8'), { compilerOptions: options, fileName: src }).outputText;
    fs.writeFileSync(path.join(childDir, name.replace(/\.ts$/, '.js')), js);
  }
  return path.join(childDir, 'synth-child.js');
}

const HAS_TIME = fs.existsSync(TIME_BIN) && spawnSync(TIME_BIN, ['-v', 'true'], { stdio: 'ignore' }).status === 0;

function runSynthChild(script: string, kind: StackKind, users: number, round: number): Promise<SynthSample> {
  const outdir = tmpDir(`synth-${kind}-${users}`);
  const rssFile = path.join(outdir, '..', `${path.basename(outdir)}.time`);
  const args = [script, kind, String(users), outdir];
  const [command, argv] = HAS_TIME ? [TIME_BIN, ['-v', '-o', rssFile, process.execPath, ...args]] : [process.execPath, args];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, argv, { cwd: path.dirname(script), env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr = (stderr + c).slice(-4000); });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      try {
        if (code !== 0) throw new Error(`synth ${kind} ${users} exited ${code}: ${stderr}`);
        const report = JSON.parse(stdout.trim().split('\n').pop()!) as { resources: number; maxRssKb: number; buildMs: number; synthMs: number };
        let maxRssKb = report.maxRssKb;
        let rssSource = 'process.resourceUsage().maxRSS';
        if (HAS_TIME) {
          const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(fs.readFileSync(rssFile, 'utf8'));
          if (m) { maxRssKb = Number(m[1]); rssSource = '/usr/bin/time -v'; }
        }
        resolve({ kind, users, round, resources: report.resources, wallMs, buildMs: report.buildMs, synthMs: report.synthMs, maxRssKb, rssSource });
      } catch (e) {
        reject(e);
      } finally {
        fs.rmSync(outdir, { recursive: true, force: true });
      }
    });
  });
}

export interface SynthSummary {
  kind: StackKind;
  users: number;
  /** Resources in the synthesized template. */
  resources: number;
  runs: number;
  medianWallMs: number;
  /** Inside the child: process start to a constructed stack (module loading included). */
  medianBuildMs: number;
  /** Inside the child: app.synth(). */
  medianSynthMs: number;
  medianMaxRssMb: number;
  wallRatioToBare: number;
  rssRatioToBare: number;
  pairedWallRatioToBare: number;
  /** (max − min) ÷ median of the wall times: how noisy this configuration was. */
  wallSpread: number;
  wallMs: number[];
  maxRssKb: number[];
}

/**
 * Ours against the peer at one size, round by round: both ran in the same
 * round, next to each other, so the difference of their wall times is freer
 * of the machine's slow and fast spells than the difference of medians.
 */
export interface PeerComparison {
  users: number;
  rounds: number;
  /** Median over rounds of ours' wall time minus the peer's (negative: ours is faster). */
  medianDiffMs: number;
  /** 95% bootstrap interval of that median (2,000 resamples of the rounds, fixed seed). */
  ciLowMs: number;
  ciHighMs: number;
  oursFasterRounds: number;
}

/** A small seeded generator (mulberry32): the same run, the same interval. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function compareWithPeer(samples: SynthSample[], users: number): PeerComparison {
  const wall = (kind: StackKind, r: number) => samples.find((s) => s.kind === kind && s.users === users && s.round === r)?.wallMs;
  const rounds = [...new Set(samples.filter((s) => s.users === users).map((s) => s.round))];
  const diffs = rounds.flatMap((r) => {
    const ours = wall('ours', r);
    const peer = wall('peer', r);
    return ours === undefined || peer === undefined ? [] : [ours - peer];
  });
  const random = seeded(20261207);
  const medians = Array.from({ length: 2000 }, () => median(diffs.map(() => diffs[Math.floor(random() * diffs.length)])))
    .sort((a, b) => a - b);
  return {
    users,
    rounds: diffs.length,
    medianDiffMs: round(median(diffs), 0),
    ciLowMs: round(medians[Math.floor(0.025 * medians.length)], 0),
    ciHighMs: round(medians[Math.ceil(0.975 * medians.length) - 1], 0),
    oursFasterRounds: diffs.filter((d) => d < 0).length,
  };
}

export async function synthCost(): Promise<{ samples: SynthSample[]; summary: SynthSummary[]; comparisons: PeerComparison[]; rssSource: string }> {
  const script = buildSynthChild();
  const kinds: StackKind[] = ['bare', 'ours', 'peer'];
  log(`synth: warm-up (1 run per kind at 1 user, discarded), then ${RUNS} alternating rounds`);
  for (const kind of kinds) await runSynthChild(script, kind, 1, 0);
  const samples: SynthSample[] = [];
  for (let round = 1; round <= RUNS; round++) {
    for (const users of SYNTH_SIZES) {
      // A B C, then B C A, …: no kind always runs first or last.
      const order = kinds.map((_, i) => kinds[(i + round) % kinds.length]);
      for (const kind of order) samples.push(await runSynthChild(script, kind, users, round));
    }
    log(`synth: round ${round}/${RUNS} done`);
  }
  const summary: SynthSummary[] = [];
  for (const users of SYNTH_SIZES) {
    const of = (kind: StackKind) => samples.filter((s) => s.kind === kind && s.users === users);
    const bare = of('bare');
    const bareWall = median(bare.map((s) => s.wallMs));
    const bareRss = median(bare.map((s) => s.maxRssKb));
    for (const kind of kinds) {
      const mine = of(kind);
      const paired = mine.map((s) => s.wallMs / bare.find((b) => b.round === s.round)!.wallMs);
      summary.push({
        kind,
        users,
        resources: mine[0]?.resources ?? 0,
        runs: mine.length,
        medianWallMs: round(median(mine.map((s) => s.wallMs)), 0),
        medianBuildMs: round(median(mine.map((s) => s.buildMs)), 0),
        medianSynthMs: round(median(mine.map((s) => s.synthMs)), 0),
        medianMaxRssMb: round(median(mine.map((s) => s.maxRssKb)) / 1024, 1),
        wallRatioToBare: round(median(mine.map((s) => s.wallMs)) / bareWall, 3),
        rssRatioToBare: round(median(mine.map((s) => s.maxRssKb)) / bareRss, 3),
        pairedWallRatioToBare: round(median(paired), 3),
        wallSpread: round((Math.max(...mine.map((s) => s.wallMs)) - Math.min(...mine.map((s) => s.wallMs))) / median(mine.map((s) => s.wallMs)), 3),
        wallMs: mine.map((s) => round(s.wallMs, 1)),
        maxRssKb: mine.map((s) => s.maxRssKb),
      });
    }
  }
  const comparisons = SYNTH_SIZES.map((users) => compareWithPeer(samples, users));
  return { samples, summary, comparisons, rssSource: samples[0]?.rssSource ?? 'none' };
}

