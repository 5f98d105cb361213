/**
 * The typed contract between synth time (the construct) and deploy time (the
 * handler). The handler imports these types through JSDoc, so both sides are
 * checked by `tsc` against one definition.
 *
 * CloudFormation passes every scalar property as a string, so numbers are
 * declared as strings here.
 *
 * @internal
 */

export { CUSTOM_RESOURCE_TYPE } from './handler/tags';
export {
  PARTITIONS, LISTED_REGIONS, isListedRegion, isRegionName, partitionOf,
} from './handler/partitions';
export type { Partition } from './handler/partitions';

/** One SMTP region served by the issued access key, and the secret that holds its credentials. */
export interface SmtpTargetProperties {
  /** SES SMTP region the password is derived for, e.g. `eu-west-1`. */
  readonly Region: string;
  /** SMTP host name written into the secret. */
  readonly Host: string;
  /** SMTP port written into the secret (a decimal string). */
  readonly Port: string;
  /** ARN of the secret that receives `username`, `password`, `host`, `port`, `region`. */
  readonly SecretArn: string;
}

/** Where the access key comes from when the organisation's IAM automation owns it. */
export interface KeySourceProperties {
  /** ARN of the secret the automation wrote. */
  readonly SecretArn: string;
  /** JSON field holding the access key id; absent when `AccessKeyId` is given. */
  readonly AccessKeyIdField?: string;
  /** JSON field holding the secret access key; absent when the secret is a plain string. */
  readonly SecretAccessKeyField?: string;
  /** Access key id given explicitly (for plain-string sources). */
  readonly AccessKeyId?: string;
}

/**
 * The tag that marks what one stack's handler may manage. The handler puts it
 * on the IAM user before creating a key and removes it after the user's last
 * key is gone; the handler role may list and delete keys only of users that
 * carry it (see SmtpCredentialsHandler).
 */
export interface OwnerTagProperties {
  /** Tag key, one per stack. */
  readonly Key: string;
  /** Tag value: the stack id. */
  readonly Value: string;
}

/** `ResourceProperties` of a `Custom::SesSmtpCredentials` resource. */
export interface SmtpCredentialsProperties {
  /** Name of the IAM user whose key is used. */
  readonly UserName: string;
  /** The SMTP regions and their secrets; the first one is the primary. */
  readonly Targets: SmtpTargetProperties[];
  /** Changing this value re-issues the credentials. */
  readonly Serial?: string;
  /** Present when keys come from the IAM automation instead of `iam:CreateAccessKey`. */
  readonly Source?: KeySourceProperties;
  /**
   * The stack's owner tag. Absent in resources deployed by versions before
   * it existed; the handler then tags nothing.
   */
  readonly OwnerTag?: OwnerTagProperties;
}

/** Attributes the custom resource returns (`Fn::GetAtt`). None of them is secret. */
export interface SmtpCredentialsAttributes {
  /** The access key id, which is also the SMTP user name. */
  readonly AccessKeyId: string;
}

export { REGISTRATION_METADATA_KEY, STACK_ID_TAG } from './handler/tags';

/**
 * What a rotation may touch, as the deployment registered it: the template
 * Metadata (under REGISTRATION_METADATA_KEY) of the primary secret, which the
 * handler reads back through CloudFormation. The primary target names no
 * SecretArn: it is the secret that carries the Metadata (a resource cannot
 * refer to itself).
 */
export interface RotationRegistration {
  readonly UserName: string;
  readonly Targets: Array<Omit<SmtpTargetProperties, 'SecretArn'> & { readonly SecretArn?: string }>;
  readonly Source?: KeySourceProperties;
  /** The logical id of the custom resource the rotation acts for: it must be CREATE_COMPLETE or UPDATE_COMPLETE. */
  readonly Resource?: string;
}

/**
 * Event the key source's EventBridge rule sends to the handler. It names only
 * the custom resource: what the sync may touch is that resource's template
 * Metadata (the same properties it has, under REGISTRATION_METADATA_KEY).
 */
export interface KeySourceChangedEvent {
  /** The custom resource whose registration to follow. */
  readonly SesSmtpSync: { readonly LogicalResourceId: string };
  /** The CloudTrail record of the change (`$.detail`). */
  readonly detail?: {
    readonly eventName?: string;
    readonly requestParameters?: { readonly secretId?: string };
    readonly additionalEventData?: { readonly SecretId?: string };
  };
}
