/**
 * How the stack's handler treats a request that its checks of CloudFormation's
 * records do not confirm.
 *
 * The handler acts only on what CloudFormation and Secrets Manager report:
 * a custom resource request must match CloudFormation's log of the stack
 * (its status, type, physical id and properties), a rotation or a key source
 * sync must match CloudFormation's record of the resource it acts for, and
 * an answer goes only to CloudFormation's response bucket. Those checks rest
 * on how CloudFormation logs and answers, as AWS documents it and as real
 * event histories show it. An account where CloudFormation behaves
 * differently would see every deployment refused; AUDIT is the way forward
 * there while the difference is reported.
 */
export enum RequestVerification {
  /**
   * A request the checks do not confirm is refused: nothing is changed, and
   * CloudFormation gets FAILED with the reason (or, when the ResponseURL is
   * not CloudFormation's, no answer at all).
   */
  ENFORCE = 'ENFORCE',

  /**
   * A request the checks do not confirm is logged, as a WARN line naming
   * what did not match, and then served as if it had been confirmed. Anyone
   * who may invoke the handler function can then make it act: use AUDIT
   * only while finding out why an account's requests are refused, with the
   * SCP of docs/scp.md keeping direct invocations out, and report the WARN
   * lines. Only a stack update can set it, so it grants no one new authority.
   */
  AUDIT = 'AUDIT',
}
