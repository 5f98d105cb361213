// @ts-check
'use strict';
/**
 * Files that hold a secret: written whole or not at all, readable only by
 * their owner, owned by the user running the command (root on a mail relay),
 * and never written through a symbolic link or over someone else's file.
 *
 * A new file is written next to the target (O_CREAT | O_EXCL | O_NOFOLLOW, so
 * nothing planted under the temporary name is followed or reused), fsynced and
 * renamed over the target; the directory is fsynced so the rename survives a
 * crash. rename(2) replaces a name and never follows a link, but a link or a
 * foreign file at the target is refused anyway: it means someone else
 * prepared that place, and the administrator should look.
 */
const fs = require('node:fs');
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const { CliError, EXIT } = require('./errors');

const { O_WRONLY, O_RDONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

/** @returns {number} */
function currentUid() {
  return typeof process.geteuid === 'function' ? process.geteuid() : 0;
}

/**
 * What is at `file` now, refusing what must not be replaced.
 * @param {string} file
 * @param {string} label how errors name the file, e.g. '--output' (never its path: that is an option value)
 * @returns {{ exists: false } | { exists: true, content: string, mode: number }}
 */
function inspectTarget(file, label) {
  let stat;
  try {
    stat = fs.lstatSync(file);
  } catch (e) {
    if (/** @type {NodeJS.ErrnoException} */ (e).code === 'ENOENT') return { exists: false };
    throw unsafe(label, `cannot be examined (${/** @type {NodeJS.ErrnoException} */ (e).code})`);
  }
  if (stat.isSymbolicLink()) throw unsafe(label, 'is a symbolic link; refusing to write through or over it. Remove the link if you made it');
  if (!stat.isFile()) throw unsafe(label, 'exists and is not a regular file');
  if (stat.uid !== currentUid()) {
    throw unsafe(label, `is owned by uid ${stat.uid}, not by this user (uid ${currentUid()}); refusing to replace another user's file. Remove it or change its owner if it is yours`);
  }
  // Read without following a link swapped in since lstat.
  const fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW);
  try {
    return { exists: true, content: fs.readFileSync(fd, 'utf8'), mode: fs.fstatSync(fd).mode & 0o7777 };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes `text` to `file` atomically with mode 0600, owned by the current user.
 * @param {string} file
 * @param {string} text
 * @param {string} label how errors name the file
 * @returns {boolean} whether anything changed (content, mode or a missing file)
 */
function writePrivateFile(file, text, label) {
  const before = inspectTarget(file, label);
  if (before.exists && before.content === text && before.mode === 0o600) return false;

  const dir = path.dirname(file);
  const dirStat = statDirectory(dir, label);
  if ((dirStat.mode & 0o022) !== 0 && (dirStat.mode & 0o1000) === 0) {
    throw unsafe(label, 'is in a directory others may write to (and it has no sticky bit), so another user could swap the file');
  }
  const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd;
  try {
    fd = fs.openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  } catch (e) {
    throw unsafe(label, `cannot be created in its directory (${/** @type {NodeJS.ErrnoException} */ (e).code})`);
  }
  try {
    fs.fchmodSync(fd, 0o600); // the umask cannot widen it, but be explicit
    if (typeof process.getegid === 'function') fs.fchownSync(fd, currentUid(), process.getegid()); // not a setgid directory's group
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    inspectTarget(file, label); // refuse a link or foreign file planted since the first look
    fs.renameSync(temp, file);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    if (e instanceof CliError) throw e;
    throw unsafe(label, `could not be written (${/** @type {NodeJS.ErrnoException} */ (e).code ?? String(e)})`);
  }
  fsyncDirectory(dir);
  return true;
}

/** @param {string} dir @param {string} label */
function statDirectory(dir, label) {
  try {
    const stat = fs.statSync(dir);
    if (!stat.isDirectory()) throw new Error('ENOTDIR');
    return stat;
  } catch {
    throw unsafe(label, 'is in a directory that does not exist');
  }
}

/** @param {string} dir */
function fsyncDirectory(dir) {
  const fd = fs.openSync(dir, O_RDONLY);
  try {
    fs.fsyncSync(fd);
  } catch {
    // Some file systems do not fsync directories; the rename itself is still atomic.
  } finally {
    fs.closeSync(fd);
  }
}

/** @param {string} label @param {string} why */
function unsafe(label, why) {
  return new CliError(`${label} ${why}.`, EXIT.UNSAFE_OUTPUT);
}

module.exports = { writePrivateFile, inspectTarget };
