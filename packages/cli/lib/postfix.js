// @ts-check
'use strict';
/**
 * Postfix, driven only through its own tools: `postconf` reads and edits
 * main.cf (one line per key, nothing else touched), `postmap` builds and
 * queries the password map, `postfix` reports status and reloads. Every
 * command gets the config directory (-c), so a private instance works the
 * same as /etc/postfix.
 *
 * @typedef {import('./secret').SmtpCredentials} SmtpCredentials
 * @typedef {{ key: string, from: string, to: string | undefined }} SettingChange `to` undefined: remove the key from main.cf
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { CliError, EXIT } = require('./errors');

/** Where distributions keep the CA bundle Postfix should verify SES against, in order of preference. */
const CA_BUNDLES = Object.freeze([
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu
  '/etc/pki/tls/certs/ca-bundle.crt', // RHEL, Amazon Linux, Fedora
]);

/** cron and some service managers run with a PATH that lacks sbin, where Postfix's tools live. */
const SBIN = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

/** Implicit TLS (465, 2465) versus STARTTLS (25, 587, 2587). @param {number} port */
function implicitTls(port) {
  return port === 465 || port === 2465;
}

/** @param {string} name @returns {string} */
function findTool(name) {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...SBIN];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new CliError(`'${name}' was not found (searched PATH and ${SBIN.join(', ')}). Install Postfix: dnf install postfix cyrus-sasl-plain, or apt-get install postfix libsasl2-modules.`, EXIT.SETUP);
}

class Postfix {
  /**
   * @param {string} configDir
   * @param {boolean} configDirGiven whether it came from --postfix-config-dir (then its path is never printed)
   */
  constructor(configDir, configDirGiven) {
    this.configDir = configDir;
    this.configDirName = configDirGiven ? 'the --postfix-config-dir directory' : configDir;
    if (!fs.existsSync(path.join(configDir, 'main.cf'))) {
      throw new CliError(`${this.configDirName} has no main.cf: is Postfix installed and configured? (Debian: preseed 'No configuration' still writes one; or point --postfix-config-dir at your instance.)`, EXIT.SETUP);
    }
    this.tools = { postconf: findTool('postconf'), postmap: findTool('postmap'), postfix: findTool('postfix') };
  }

  /**
   * Runs a Postfix tool with -c DIR. Its stderr is quoted on failure, with the
   * config directory's path replaced by its name.
   * @param {'postconf' | 'postmap' | 'postfix'} tool @param {string[]} args
   * @param {{ allowStatus?: number[] }} [opts]
   * @returns {{ status: number, stdout: string }}
   */
  run(tool, args, opts = {}) {
    const result = spawnSync(this.tools[tool], ['-c', this.configDir, ...args], { encoding: 'utf8', timeout: 60_000 });
    const status = result.status ?? -1;
    if (result.error || (status !== 0 && !(opts.allowStatus ?? []).includes(status))) {
      const said = (result.stderr || result.error?.message || `exit ${status}`).trim().split('\n').filter((l) => !/warning:/.test(l)).slice(-2).join(' / ');
      throw new CliError(`${tool} ${args[0] ?? ''} failed: ${said.split(this.configDir).join(`<${this.configDirName}>`)}`, EXIT.POSTFIX);
    }
    return { status, stdout: result.stdout };
  }

  /** The effective value of each key (main.cf or Postfix's default). @param {string[]} keys @returns {Record<string, string>} */
  get(keys) {
    const lines = this.run('postconf', ['-h', ...keys]).stdout.split('\n');
    return Object.fromEntries(keys.map((k, i) => [k, lines[i] ?? '']));
  }

  /** The keys set explicitly in main.cf. @param {string[]} keys @returns {Set<string>} */
  explicit(keys) {
    const out = this.run('postconf', ['-n']).stdout;
    return new Set(keys.filter((k) => new RegExp(`^${k} =`, 'm').test(out)));
  }

  /** @param {SettingChange[]} changes */
  apply(changes) {
    const set = changes.filter((c) => c.to !== undefined).map((c) => `${c.key}=${c.to}`);
    const remove = changes.filter((c) => c.to === undefined).map((c) => c.key);
    if (set.length > 0) this.run('postconf', ['-e', ...set]);
    if (remove.length > 0) this.run('postconf', ['-X', ...remove]);
  }

  /** Whether `postmap -q key map` answers exactly `expected`. @param {string} map @param {string} key @param {string} expected */
  mapAnswers(map, key, expected) {
    const { status, stdout } = this.run('postmap', ['-q', key, map], { allowStatus: [1] });
    return status === 0 && stdout.replace(/\n$/, '') === expected;
  }

  /** @param {string} map */
  buildMap(map) {
    this.run('postmap', [map]);
  }

  /** @returns {boolean} */
  running() {
    return this.run('postfix', ['status'], { allowStatus: [1] }).status === 0;
  }

  reload() {
    this.run('postfix', ['reload']);
  }
}

/**
 * The main.cf settings that relay through SES with SASL and a verified TLS
 * session. No obsolete keys (smtp_use_tls, smtp_enforce_tls).
 * @param {SmtpCredentials} c
 * @param {{ passwordMap: string, caFile: string }} where
 * @returns {Array<[string, string | undefined]>} `undefined`: the key must not be set (Postfix's default applies)
 */
function desiredSettings(c, where) {
  return [
    ['relayhost', `[${c.host}]:${c.port}`],
    ['smtp_sasl_auth_enable', 'yes'],
    ['smtp_sasl_password_maps', where.passwordMap],
    ['smtp_sasl_security_options', 'noanonymous'],
    // secure: the certificate must chain to the CA file and name the relayhost, so AUTH goes only to SES.
    ['smtp_tls_security_level', 'secure'],
    ['smtp_tls_CAfile', where.caFile],
    ['smtp_tls_wrappermode', implicitTls(c.port) ? 'yes' : undefined],
  ];
}

/** The one sasl_passwd line; its key is exactly the relayhost value. @param {SmtpCredentials} c */
function saslPasswdLine(c) {
  return `[${c.host}]:${c.port} ${c.username}:${c.password}\n`;
}

/**
 * The CA bundle: --ca-file if given (must be a readable file), else the distribution's.
 * @param {string | undefined} given
 * @param {(file: string) => boolean} [readable]
 */
function caBundle(given, readable = isReadableFile) {
  if (given !== undefined) {
    if (!readable(given)) throw new CliError('--ca-file is not a readable file.', EXIT.SETUP);
    return given;
  }
  const found = CA_BUNDLES.find(readable);
  if (!found) throw new CliError(`no CA bundle found (looked for ${CA_BUNDLES.join(', ')}). Install ca-certificates, or pass --ca-file.`, EXIT.SETUP);
  return found;
}

/** @param {string} file */
function isReadableFile(file) {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

module.exports = { Postfix, desiredSettings, saslPasswdLine, caBundle, implicitTls, CA_BUNDLES, findTool };
