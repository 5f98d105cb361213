/**
 * What `npm run bench` measures against, in one place: the AWS quotas a
 * stack must meet and the targets this library sets itself.
 */

/** CloudFormation: resources per stack. */
export const CFN_RESOURCE_LIMIT = 500;
/**
 * CloudFormation: template size. In a request (`--template-body`,
 * CreateStackSet's TemplateBody, AWS::CloudFormation::StackSet's TemplateBody)
 * at most 51,200 bytes; read from S3 (`--template-url`, TemplateURL) at most 1 MB.
 */
export const TEMPLATE_LIMITS = {
  templateBody: 51_200,
  templateFromS3: 1_048_576,
};

/** IAM: characters (non-whitespace) of all inline policies of one role together. */
export const IAM_ROLE_POLICY_LIMIT = 10_240;
/** A quoted user ARN plus its comma in a resolved policy. */
export const USER_ARN_CHARS = '"arn:aws:iam::123456789012:user/smtp-user-0001",'.length;

/** This library's goals; targets.ts judges each PASS or MISS. */
export const TARGETS = {
  fixedOverhead: 4,
  perUser: 3,
  usersPerStack: 165,
  assetBytes: 20 * 1024,
  synthRatio1: 1.05,
  synthRatio100: 1.15,
  createCalls: 3,
  /**
   * Issue 22: what the convergence may cost, at most one AWS call per request on average over
   * Create, Update, the cleanup Delete and Delete, on top of the handler before it (1ec042f:
   * 5, 6, 7 and 6 calls, counted by this bench's handler-calls.ts on that commit).
   */
  callsPerRequestBefore: (5 + 6 + 7 + 6) / 4,
  extraCallsPerRequest: 1,
  /** Issue 23.7: CloudFormation reads per request, averaged, in the read-limited deployment. */
  cfnReadsPerRequest: 1.2,
  /** Issue 23.7: that deployment's wall time over what its IAM calls need at the IAM rate. */
  wallOverIamMinimum: 1.2,
};

/** IAM quotas that apply to the handler role's permissions (non-whitespace characters). */
export const IAM_LIMITS = {
  roleInlineAggregate: IAM_ROLE_POLICY_LIMIT,
  managedPolicy: 6_144,
  managedPoliciesPerRole: 10,
};

