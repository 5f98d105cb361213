/**
 * How a synth-time error message shows a value the user gave: quoted, unless
 * it may be a secret. A value in the wrong place is the usual mistake behind
 * such an error (a secret access key given as the access key id, or as a user
 * name), and a synth error ends up in CI logs, terminals and tickets.
 *
 * AWS secret access keys are 40 characters of the base64 alphabet; SES SMTP
 * passwords are 44. A value holding a run of 32 or more such characters that
 * mixes upper case, lower case and digits is described instead of shown. That
 * also hides a rare long name written in camel case with digits; the message
 * still names the construct and the prop, so nothing is lost but the echo.
 *
 * @internal
 */
export function safeQuote(value: string): string {
  if (mayBeSecret(value)) {
    return `a value of ${value.length} characters (not shown: it looks like a secret access key or password)`;
  }
  return `'${value}'`;
}

/** Whether a value has the shape of a credential (see safeQuote). @internal */
export function mayBeSecret(value: string): boolean {
  for (const run of value.match(/[A-Za-z0-9+/=]{32,}/g) ?? []) {
    if (/[A-Z]/.test(run) && /[a-z]/.test(run) && /[0-9]/.test(run)) return true;
  }
  return false;
}
