import { Token } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { KeySourceProperties } from './contract';
import { mayBeSecret, safeQuote } from './safe-quote';

/** An access key id: not secret, so an error may show it. */
const KEY_ID = /^(AKIA|ASIA)[A-Z0-9]{16}$/;

/**
 * Field names of a JSON key source secret.
 */
export interface AccessKeySourceFields {
  /**
   * JSON field that holds the access key id.
   *
   * @default 'AccessKeyId'
   */
  readonly accessKeyIdField?: string;

  /**
   * JSON field that holds the secret access key.
   *
   * @default 'SecretAccessKey'
   */
  readonly secretAccessKeyField?: string;
}

/**
 * An access key that the organisation's IAM automation already issued and
 * stored in Secrets Manager. With a key source, SesSmtpUser never creates or
 * deletes keys: it only reads the key and derives the SMTP passwords.
 *
 * Accepted shapes:
 * - `fromSecret`: a JSON object, `{"AccessKeyId": "AKIA...", "SecretAccessKey": "..."}`
 *   (field names configurable).
 * - `fromPlainTextSecret`: the secret string is the secret access key itself;
 *   the access key id is given in code.
 *
 * Temporary (STS, `ASIA...`) keys are rejected: SES SMTP needs a long-term key.
 */
export class AccessKeySource {
  /**
   * A JSON secret that holds both the access key id and the secret access key.
   */
  public static fromSecret(secret: secretsmanager.ISecret, fields: AccessKeySourceFields = {}): AccessKeySource {
    const idField = fields.accessKeyIdField ?? 'AccessKeyId';
    const keyField = fields.secretAccessKeyField ?? 'SecretAccessKey';
    for (const [name, value] of [['accessKeyIdField', idField], ['secretAccessKeyField', keyField]]) {
      if (!Token.isUnresolved(value) && value.trim() === '') {
        throw new Error(`AccessKeySource.fromSecret: ${name} is empty; give the JSON field name the IAM automation uses, or leave it out for the default.`);
      }
    }
    if (!Token.isUnresolved(idField) && idField === keyField) {
      throw new Error(`AccessKeySource.fromSecret: accessKeyIdField and secretAccessKeyField are both ${safeQuote(idField)}; they must name different JSON fields.`);
    }
    return new AccessKeySource(secret, { AccessKeyIdField: idField, SecretAccessKeyField: keyField });
  }

  /**
   * A secret whose whole string value is the secret access key, with the
   * access key id given here (it is not secret).
   *
   * The id is checked at synth time when it is a concrete value: it must be a
   * long-term key id (`AKIA` and 16 upper-case letters or digits). An error
   * never shows a value that may be a secret: a secret access key given here
   * by mistake is described, not printed.
   */
  public static fromPlainTextSecret(secret: secretsmanager.ISecret, accessKeyId: string): AccessKeySource {
    if (!Token.isUnresolved(accessKeyId)) {
      if (KEY_ID.test(accessKeyId) && accessKeyId.startsWith('ASIA')) {
        throw new Error(`AccessKeySource.fromPlainTextSecret: '${accessKeyId}' is a temporary (STS) access key id. SES SMTP credentials need a long-term IAM user key (AKIA...).`);
      }
      if (!KEY_ID.test(accessKeyId)) {
        const mistake = mayBeSecret(accessKeyId)
          ? ' It looks like a secret access key: give the access key id here, and keep the secret access key only in the secret\'s value.'
          : '';
        throw new Error(`AccessKeySource.fromPlainTextSecret: ${safeQuote(accessKeyId)} is not an IAM access key id (AKIA followed by 16 upper-case letters or digits).${mistake}`);
      }
    }
    return new AccessKeySource(secret, { AccessKeyId: accessKeyId });
  }

  private constructor(
    /** The secret the IAM automation writes. */
    public readonly secret: secretsmanager.ISecret,
    private readonly fields: Omit<KeySourceProperties, 'SecretArn'>,
  ) {}

  /** @internal */
  public _properties(): KeySourceProperties {
    return { SecretArn: this.secret.secretArn, ...this.fields };
  }
}
