import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { SecretAccess, principalArns, secretAccessStatements } from './credentials-secret-policy';

/** Who may use a credentials secret, as {@link SecretAccess} without its readers. @internal */
export interface CredentialsSecretAccess extends Omit<SecretAccess, 'readers'> {
  /** Reads are denied to every principal that is not a grantee (or the handler, break-glass, a deployment). */
  readonly restrictReads: boolean;
}

/**
 * A secret that holds one region's SMTP credentials, with a resource policy
 * (lib/credentials-secret-policy.ts) that leaves writing values and moving
 * labels to the stack's handler role, managing the secret to CloudFormation's
 * deployments, and, by default, reading to grantees.
 *
 * Every `grantRead` on it (`SesSmtpUser.grantRead`, or any construct handed
 * the secret, such as `ecs.Secret.fromSecretsManager`) adds the grantee to
 * the readers. `grantWrite` is refused: nobody but the handler writes.
 *
 * @internal
 */
export class CredentialsSecret extends secretsmanager.Secret {
  /** The secret's resource policy (AWS::SecretsManager::ResourcePolicy); undefined with `secretResourcePolicy: false`. */
  public readonly resourcePolicy?: secretsmanager.ResourcePolicy;
  private readonly readers?: string[];

  /** @param access who may use the secret; undefined: no resource policy (`secretResourcePolicy: false`) */
  constructor(scope: Construct, id: string, props: secretsmanager.SecretProps, access: CredentialsSecretAccess | undefined) {
    super(scope, id, props);
    if (!access) return;
    const readers = access.restrictReads ? [] as string[] : undefined;
    this.readers = readers;
    let policy: secretsmanager.ResourcePolicy | undefined;
    for (const statement of secretAccessStatements({ ...access, readers: readers && (() => readers) })) {
      policy = this.addToResourcePolicy(statement).policyDependable as secretsmanager.ResourcePolicy;
    }
    this.resourcePolicy = policy;
  }

  /**
   * Grants reading, as `Secret.grantRead` does, and lets the grantee past the
   * resource policy's read restriction.
   */
  public grantRead(grantee: iam.IGrantable, versionStages?: string[]): iam.Grant {
    const arns = this.readers ? principalArns(grantee.grantPrincipal, this, 'grantRead').arns : [];
    const grant = super.grantRead(grantee, versionStages);
    this.readers?.push(...arns);
    return grant;
  }

  /** Refused: the resource policy lets only the handler write values and move labels. */
  public grantWrite(grantee: iam.IGrantable): iam.Grant {
    throw new Error(`[${this.node.path}] grantWrite(${grantee.grantPrincipal}) is refused: only the stack's SesSmtpCredentials handler writes SMTP `
      + 'credentials secrets, and their resource policy denies PutSecretValue and UpdateSecretVersionStage to every other principal (UpdateSecret '
      + 'to all but deployments). To repair a secret by hand, name the principal in the SesSmtpUser\'s breakGlassPrincipals.');
  }
}
