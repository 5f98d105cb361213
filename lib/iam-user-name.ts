import { safeQuote } from './safe-quote';

/**
 * IAM's rules for a user name and path, from the IAM API reference
 * (CreateUser):
 * - `UserName`: 1 to 64 characters matching `[\w+=,.@-]+` (ASCII letters,
 *   digits and `_+=,.@-`); "user names are not distinguished by case: you
 *   cannot create users named both TESTUSER and testuser";
 * - `Path`: `/` alone, or `/…/` of ASCII characters from `!` (U+0021) to
 *   `~` (U+007E), at most 512 characters.
 *
 * @internal
 */
export const IAM_USER_NAME_MAX_LENGTH = 64;
const IAM_PATH_MAX_LENGTH = 512;

const NAME_CHARACTER = /^[A-Za-z0-9_+=,.@-]$/;
const PATH_CHARACTER = /^[\u0021-\u007E]$/;

/**
 * What is wrong with a user given by `path/name` (the part of its ARN after
 * `:user/`, or its name alone), as sentences that name the value and the fix,
 * or undefined when IAM accepts it. `iam.User.fromUserName('a/b')` makes the
 * ARN `…:user/a/b`, a user named `b` with the path `/a/`; that is valid, and
 * the same user `fromUserArn` would give.
 *
 * @internal
 */
export function userProblem(pathAndName: string): string | undefined {
  const slash = pathAndName.lastIndexOf('/');
  const name = pathAndName.slice(slash + 1);
  const path = slash < 0 ? '' : pathAndName.slice(0, slash);
  const problems: string[] = [];
  if (name.length === 0) problems.push('the name is empty');
  if (name.length > IAM_USER_NAME_MAX_LENGTH) {
    problems.push(`${slash < 0 ? 'it' : 'the name'} has ${name.length} characters, more than IAM's ${IAM_USER_NAME_MAX_LENGTH}`);
  }
  const badInName = disallowed(name, NAME_CHARACTER);
  if (badInName.length > 0) problems.push(`${slash < 0 ? 'it' : `the name after the last '/'`} contains ${badInName.join(', ')}`);
  const badInPath = disallowed(path, PATH_CHARACTER);
  if (badInPath.length > 0) problems.push(`the path before it contains ${badInPath.join(', ')}`);
  if (path.length + 2 > IAM_PATH_MAX_LENGTH) problems.push(`the path has more than IAM's ${IAM_PATH_MAX_LENGTH} characters`);
  if (problems.length === 0) return undefined;
  const pathNote = slash < 0 ? '' : ' A \'/\' makes what precedes it an IAM path (/team/): a user with a path is given by ARN, '
    + 'iam.User.fromUserArn(this, \'User\', \'arn:aws:iam::<account>:user/<path>/<name>\'), and a user name never contains \'/\'.';
  return `The IAM user ${safeQuote(pathAndName)} is not valid: ${problems.join('; ')}. `
    + `IAM user names are 1 to ${IAM_USER_NAME_MAX_LENGTH} characters of letters, digits and _+=,.@- ; IAM does not allow the others. `
    + `Give the exact name of the existing user.${pathNote}`;
}

/**
 * The key under which IAM tells user names apart: their lower-case form
 * (IAM user names are not distinguished by case).
 *
 * @internal
 */
export function userNameKey(name: string): string {
  return name.toLowerCase();
}

/** The distinct characters of `text` that `allowed` rejects, described for a message. */
function disallowed(text: string, allowed: RegExp): string[] {
  return [...new Set([...text].filter((c) => !allowed.test(c)))].map((c) => {
    if (c === ' ') return 'a space';
    if (/\s/.test(c) || c.codePointAt(0)! < 0x20) return `a control or whitespace character (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`;
    return `'${c}'`;
  });
}
