// @ts-check
'use strict';
/**
 * `sync`: make a Postfix host relay through SES with the credentials in the
 * secret, idempotently. Run it from a timer: a rotated key reaches the host
 * within the interval, and a run that finds everything in place changes
 * nothing and does not reload.
 *
 * Order: sasl_passwd and its map first, main.cf second, reload last, so a
 * reload never sees a relayhost without its password.
 */
const path = require('node:path');
const { CliError, EXIT } = require('./errors');
const { parseOptions, value, checkRegion } = require('./options');
const { fetchCredentials } = require('./secret');
const { Postfix, desiredSettings, saslPasswdLine, caBundle } = require('./postfix');
const { inspectTarget, writePrivateFile } = require('./private-file');
const { maskKeyId } = require('./diagnose');

const DEFAULT_CONFIG_DIR = '/etc/postfix';

/** The options sync accepts. @type {Record<string, 'value' | 'flag'>} */
const SYNC_OPTIONS = Object.freeze({ 'secret-id': 'value', region: 'value', 'postfix-config-dir': 'value', 'ca-file': 'value', 'dry-run': 'flag', 'no-reload': 'flag' });

/**
 * @param {string[]} argv
 * @param {{ stdout: NodeJS.WritableStream }} io
 */
async function sync(argv, io) {
  const options = parseOptions(argv, SYNC_OPTIONS);
  const secretId = value(options, 'secret-id');
  if (!secretId) throw new CliError('sync needs --secret-id, the name or ARN of the SES SMTP secret.', EXIT.USAGE);
  const region = checkRegion(value(options, 'region'));
  const dryRun = options['dry-run'] === true;
  const configDirOption = value(options, 'postfix-config-dir');
  if (configDirOption !== undefined && !path.isAbsolute(configDirOption)) throw new CliError('--postfix-config-dir must be an absolute path.', EXIT.USAGE);

  const postfix = new Postfix(configDirOption ?? DEFAULT_CONFIG_DIR, configDirOption !== undefined);
  const caFile = caBundle(value(options, 'ca-file'));
  const { credentials: c } = await fetchCredentials(secretId, region);

  const passwdFile = path.join(postfix.configDir, 'sasl_passwd');
  const fileLabel = `sasl_passwd in ${postfix.configDirName}`;
  const mapType = postfix.get(['default_database_type']).default_database_type || 'hash';
  const passwordMap = `${mapType}:${passwdFile}`;

  // What differs from the wanted state.
  const line = saslPasswdLine(c);
  const before = inspectTarget(passwdFile, fileLabel);
  const fileStale = !before.exists || before.content !== line || before.mode !== 0o600;
  const mapStale = fileStale || !postfix.mapAnswers(passwordMap, `[${c.host}]:${c.port}`, `${c.username}:${c.password}`);
  const wanted = desiredSettings(c, { passwordMap, caFile });
  const current = postfix.get(wanted.map(([key]) => key));
  const explicit = postfix.explicit(wanted.filter(([, to]) => to === undefined).map(([key]) => key));
  /** @type {import('./postfix').SettingChange[]} */
  const changes = wanted
    .filter(([key, to]) => (to === undefined ? explicit.has(key) : current[key] !== to))
    .map(([key, to]) => ({ key, from: current[key], to }));
  const changed = fileStale || mapStale || changes.length > 0;

  const would = dryRun ? 'would ' : '';
  /** @type {string[]} */
  const report = [];
  if (fileStale) report.push(`${would}write sasl_passwd: ${!before.exists ? 'new file' : before.content !== line ? 'new credentials' : 'mode 0600'} (key ${maskKeyId(c.username)}, [${c.host}]:${c.port})`);
  if (mapStale) report.push(`${would}rebuild the ${mapType} map with postmap`);
  for (const ch of changes) report.push(ch.to === undefined ? `${would}remove ${ch.key} from main.cf (was '${ch.from}')` : `${would}set ${ch.key} = ${ch.to} (was '${ch.from}')`);

  if (dryRun) {
    report.push(changed ? `${options['no-reload'] ? 'would not reload (--no-reload)' : 'would reload Postfix if it is running'}` : 'in sync: nothing would change');
    io.stdout.write(`${report.join('\n')}\ndry run: nothing was written.\n`);
    return;
  }
  if (!changed) {
    io.stdout.write('in sync: nothing changed.\n');
    return;
  }

  if (fileStale) writePrivateFile(passwdFile, line, fileLabel);
  if (mapStale) postfix.buildMap(passwordMap);
  postfix.apply(changes);
  if (options['no-reload']) {
    report.push('not reloaded (--no-reload): run postfix reload to apply');
  } else if (postfix.running()) {
    try {
      postfix.reload();
    } catch (e) {
      // The files are in place, so the next run finds nothing to change: say what to run by hand.
      throw new CliError(`${report.join('; ')}; but ${e instanceof Error ? e.message : String(e)}. Run postfix reload by hand.`, EXIT.POSTFIX);
    }
    report.push('Postfix reloaded');
  } else {
    report.push('Postfix is not running: it uses these settings when it starts');
  }
  io.stdout.write(`${report.join('\n')}\n`);
}

module.exports = { sync, SYNC_OPTIONS, DEFAULT_CONFIG_DIR };
