// @ts-check
'use strict';
/**
 * ses-smtp-credentials: keep a Postfix relay in step with the SES SMTP
 * credentials a SesSmtpUser stores (sync), explain a failing login (check),
 * render the credentials for other consumers (show), or derive a password by
 * hand (derive). This file only dispatches; each command has its own file.
 *
 * Secrets never travel through argv (process lists, shell history): the
 * secret access key is read from stdin. Errors never echo an option value.
 * Files holding a secret are written atomically with mode 0600 and never
 * through a symbolic link.
 */
const fs = require('node:fs');
const path = require('node:path');
const { CliError, EXIT } = require('./errors');
const { programHelp, commandHelp, isCommand } = require('./help');
const { sync } = require('./sync');
const { check } = require('./check');
const { show } = require('./show');
const { derive } = require('./derive');

const RUN = { sync, check, show, derive };
const HELP_FLAGS = new Set(['--help', '-h']);

/**
 * @param {string[]} argv arguments after the program name
 * @param {{ stdin: NodeJS.ReadableStream & { isTTY?: boolean }, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream, now?: () => Date }} io
 * @returns {Promise<number>} exit code
 */
async function main(argv, io) {
  const [command, ...rest] = argv;
  try {
    if (command === undefined) {
      io.stdout.write(programHelp());
      return EXIT.USAGE;
    }
    if (HELP_FLAGS.has(command) || (command === 'help' && rest.length === 0)) {
      io.stdout.write(programHelp());
      return EXIT.OK;
    }
    if (command === '--version') {
      io.stdout.write(`${JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')).version}\n`);
      return EXIT.OK;
    }
    // `help sync` is `sync --help`.
    const [name, args] = command === 'help' ? [rest[0], ['--help']] : [command, rest];
    if (!isCommand(name)) {
      // Named only when it looks like a command word: a pasted secret is not echoed.
      const shown = /^[a-z][a-z-]{0,20}$/.test(name) ? `'${name}'` : `(${name.length} characters, not shown)`;
      throw new CliError(`unknown command ${shown}; use sync, check, show or derive. See --help.`, EXIT.USAGE);
    }
    if (args.some((arg) => HELP_FLAGS.has(arg))) {
      io.stdout.write(commandHelp(name));
      return EXIT.OK;
    }
    await RUN[name](args, io);
    return EXIT.OK;
  } catch (e) {
    const code = e instanceof CliError ? e.code : EXIT.ERROR;
    io.stderr.write(`ses-smtp-credentials: ${e instanceof Error ? e.message : String(e)}\n`);
    return code;
  }
}

module.exports = { main, EXIT };
