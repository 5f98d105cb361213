/**
 * The CloudFormation side of measuring a policy as IAM does: a template's
 * shape, and a resolver from intrinsic functions to the strings CloudFormation
 * would write.
 */
import { BENCH_ACCOUNT, BENCH_REGION, BENCH_STACK_NAME } from './stacks';

export interface CfnResource { Type: string; Properties?: Record<string, unknown> }
export interface CfnTemplate { Resources: Record<string, CfnResource> }

/**
 * Resolves intrinsic functions to the concrete strings CloudFormation would
 * produce in account 123456789012 / eu-west-1, with CloudFormation-style
 * generated names, so the policy can be measured as IAM measures it.
 */
export class Resolver {
  private readonly secretArns = new Map<string, string>();

  constructor(private readonly template: CfnTemplate) {}

  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [key, arg] = entries[0];
      if (key === 'Ref') return this.ref(String(arg));
      if (key === 'Fn::GetAtt') {
        const [id, attr] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
        return this.getAtt(id, attr);
      }
      if (key === 'Fn::Join') {
        const [sep, parts] = arg as [string, unknown[]];
        return (this.resolve(parts) as unknown[]).map(String).join(sep);
      }
      if (key === 'Fn::Sub') {
        const text = Array.isArray(arg) ? String(arg[0]) : String(arg);
        return text.replace(/\$\{([^}]+)\}/g, (_, name: string) =>
          (name.includes('.') && !name.startsWith('AWS::') ? this.getAtt(...(name.split('.') as [string, string])) : this.ref(name)));
      }
      if (key.startsWith('Fn::')) throw new Error(`cannot resolve ${key} in a policy`);
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v)]));
  }

  private generatedName(id: string): string {
    return `${BENCH_STACK_NAME}-${id.slice(0, 40)}-AbCdEfGhIjKl`;
  }

  private ref(id: string): string {
    switch (id) {
      case 'AWS::Partition': return 'aws';
      case 'AWS::Region': return BENCH_REGION;
      case 'AWS::AccountId': return BENCH_ACCOUNT;
      case 'AWS::URLSuffix': return 'amazonaws.com';
      case 'AWS::StackName': return BENCH_STACK_NAME;
      case 'AWS::StackId': return `arn:aws:cloudformation:${BENCH_REGION}:${BENCH_ACCOUNT}:stack/${BENCH_STACK_NAME}/6c1f8b70-c9a1-11ef-9c33-0a1b2c3d4e5f`;
      default: break;
    }
    const resource = this.template.Resources[id];
    if (!resource) throw new Error(`Ref to unknown resource ${id}`);
    if (resource.Type === 'AWS::SecretsManager::Secret') {
      let arn = this.secretArns.get(id);
      if (!arn) {
        const n = (this.secretArns.size + 1).toString(16).toUpperCase().padStart(8, '0');
        arn = `arn:aws:secretsmanager:${BENCH_REGION}:${BENCH_ACCOUNT}:secret:SmtpSecret${n}-AbCdEfGhIjKl-AbCdEf`;
        this.secretArns.set(id, arn);
      }
      return arn;
    }
    return this.generatedName(id);
  }

  private getAtt(id: string, attr: string): string {
    const resource = this.template.Resources[id];
    if (!resource) throw new Error(`GetAtt of unknown resource ${id}`);
    if (attr !== 'Arn') return `${this.generatedName(id)}-${attr}`;
    const name = this.generatedName(id);
    switch (resource.Type) {
      case 'AWS::Logs::LogGroup': return `arn:aws:logs:${BENCH_REGION}:${BENCH_ACCOUNT}:log-group:${name}:*`;
      case 'AWS::Lambda::Function': return `arn:aws:lambda:${BENCH_REGION}:${BENCH_ACCOUNT}:function:${name}`;
      case 'AWS::IAM::Role': return `arn:aws:iam::${BENCH_ACCOUNT}:role/${name}`;
      case 'AWS::KMS::Key': return `arn:aws:kms:${BENCH_REGION}:${BENCH_ACCOUNT}:key/0123abcd-01ab-23cd-45ef-0123456789ab`;
      default: return `arn:aws:${resource.Type.split('::')[1].toLowerCase()}:${BENCH_REGION}:${BENCH_ACCOUNT}:${name}`;
    }
  }
}

