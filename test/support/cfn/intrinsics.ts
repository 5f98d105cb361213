/**
 * CloudFormation intrinsic functions: finding what a resource references (for
 * ordering) and resolving values against the stack's live resources.
 *
 * Only what synthesized CDK templates of this library use is supported; any
 * other intrinsic throws, so a template the emulator cannot read fails loudly.
 */

export type TemplateValue = unknown;

/** One resource of a template, as `Template.fromStack(stack).toJSON()` gives it. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, TemplateValue>;
  readonly Metadata?: Record<string, TemplateValue>;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly Condition?: string;
}

export interface CfnTemplate {
  readonly Parameters?: Record<string, { Type: string; Default?: unknown }>;
  readonly Resources: Record<string, TemplateResource>;
  readonly Conditions?: Record<string, unknown>;
  readonly Outputs?: Record<string, unknown>;
  readonly Rules?: Record<string, unknown>;
}

/** What a resolved reference needs from the stack. */
export interface ResolveScope {
  readonly pseudo: Record<string, string>;
  readonly parameters: Record<string, string>;
  /** Ref of a resource of the template; throws if it does not exist (yet). */
  ref(logicalId: string): string;
  /** Fn::GetAtt of a resource of the template. */
  getAtt(logicalId: string, attribute: string): string;
}

/** The pseudo parameters CloudFormation offers in every stack. */
export function pseudoParameters(stackName: string, stackId: string, region: string, accountId: string): Record<string, string> {
  return {
    'AWS::AccountId': accountId,
    'AWS::Region': region,
    'AWS::Partition': 'aws',
    'AWS::StackId': stackId,
    'AWS::StackName': stackName,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::NoValue': '',
  };
}

/** CDK's bootstrap version check is not CloudFormation's business here. */
export const IGNORED_PARAMETERS = new Set(['BootstrapVersion']);

function singleKey(value: TemplateValue): [string, TemplateValue] | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const key = keys[0];
  return key === 'Ref' || key.startsWith('Fn::') ? [key, (value as Record<string, TemplateValue>)[key]] : undefined;
}

function getAttParts(args: TemplateValue): [string, string] {
  if (typeof args === 'string') {
    const dot = args.indexOf('.');
    return [args.slice(0, dot), args.slice(dot + 1)];
  }
  if (Array.isArray(args) && args.length === 2 && typeof args[0] === 'string' && typeof args[1] === 'string') {
    return [args[0], args[1]];
  }
  throw new Error(`Fn::GetAtt with unsupported arguments: ${JSON.stringify(args)}`);
}

/** `${Name}` and `${Name.Attr}` placeholders of an Fn::Sub string (`${!Literal}` excluded). */
function subPlaceholders(text: string): string[] {
  return [...text.matchAll(/\$\{([^!}][^}]*)\}/g)].map((m) => m[1].trim());
}

/**
 * Logical ids of resources that `value` references (Ref, Fn::GetAtt, Fn::Sub).
 * Names that are not resources of the template (parameters, pseudo
 * parameters, Fn::Sub variables) are left out.
 */
export function referencedResources(value: TemplateValue, resources: Record<string, unknown>, found = new Set<string>()): Set<string> {
  const intrinsic = singleKey(value);
  if (intrinsic) {
    const [name, args] = intrinsic;
    if (name === 'Ref' && typeof args === 'string' && args in resources) found.add(args);
    if (name === 'Fn::GetAtt') {
      const [logicalId] = getAttParts(args);
      if (logicalId in resources) found.add(logicalId);
    }
    if (name === 'Fn::Sub') {
      const [text, vars] = Array.isArray(args) ? [args[0] as string, (args[1] ?? {}) as Record<string, TemplateValue>] : [args as string, {}];
      for (const placeholder of subPlaceholders(text)) {
        const target = placeholder.split('.')[0];
        if (!(placeholder in vars) && target in resources) found.add(target);
      }
      referencedResources(vars, resources, found);
      return found;
    }
    referencedResources(args, resources, found);
    return found;
  }
  if (Array.isArray(value)) {
    for (const item of value) referencedResources(item, resources, found);
  } else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) referencedResources(item, resources, found);
  }
  return found;
}

/** Resolves every intrinsic in `value`. */
export function resolve(value: TemplateValue, scope: ResolveScope): TemplateValue {
  const intrinsic = singleKey(value);
  if (intrinsic) return resolveIntrinsic(intrinsic[0], intrinsic[1], scope);
  if (Array.isArray(value)) {
    // Fn::If with AWS::NoValue would drop items; no template here needs it.
    return value.map((item) => resolve(item, scope));
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, TemplateValue> = {};
    for (const [key, item] of Object.entries(value)) out[key] = resolve(item, scope);
    return out;
  }
  return value;
}

function resolveString(value: TemplateValue, scope: ResolveScope, where: string): string {
  const resolved = resolve(value, scope);
  if (typeof resolved === 'number' || typeof resolved === 'boolean') return String(resolved);
  if (typeof resolved !== 'string') throw new Error(`${where} needs a string, got ${JSON.stringify(resolved)}`);
  return resolved;
}

function resolveName(name: string, scope: ResolveScope): string {
  if (name in scope.pseudo) return scope.pseudo[name];
  if (name in scope.parameters) return scope.parameters[name];
  return scope.ref(name);
}

function resolveIntrinsic(name: string, args: TemplateValue, scope: ResolveScope): TemplateValue {
  switch (name) {
    case 'Ref':
      if (typeof args !== 'string') throw new Error(`Ref needs a name, got ${JSON.stringify(args)}`);
      return resolveName(args, scope);
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = getAttParts(args);
      return scope.getAtt(logicalId, attribute);
    }
    case 'Fn::Join': {
      if (!Array.isArray(args) || args.length !== 2) throw new Error(`Fn::Join needs [delimiter, list], got ${JSON.stringify(args)}`);
      const items = resolve(args[1], scope);
      if (!Array.isArray(items)) throw new Error(`Fn::Join needs a list, got ${JSON.stringify(items)}`);
      return items.map((item, i) => resolveString(item, scope, `Fn::Join item ${i}`)).join(String(args[0]));
    }
    case 'Fn::Sub': {
      const [text, vars] = Array.isArray(args) ? [args[0], (args[1] ?? {}) as Record<string, TemplateValue>] : [args, {}];
      if (typeof text !== 'string') throw new Error(`Fn::Sub needs a string, got ${JSON.stringify(text)}`);
      const values: Record<string, string> = {};
      for (const [key, item] of Object.entries(vars)) values[key] = resolveString(item, scope, `Fn::Sub variable ${key}`);
      return text.replace(/\$\{(!?)([^}]*)\}/g, (_match, literal: string, placeholder: string) => {
        if (literal) return `\${${placeholder}}`;
        const key = placeholder.trim();
        if (key in values) return values[key];
        const dot = key.indexOf('.');
        if (dot > 0 && !(key in scope.pseudo)) return scope.getAtt(key.slice(0, dot), key.slice(dot + 1));
        return resolveName(key, scope);
      });
    }
    case 'Fn::Select': {
      if (!Array.isArray(args) || args.length !== 2) throw new Error(`Fn::Select needs [index, list], got ${JSON.stringify(args)}`);
      const index = Number(resolve(args[0], scope));
      const list = resolve(args[1], scope);
      if (!Array.isArray(list) || !Number.isInteger(index) || index < 0 || index >= list.length) {
        throw new Error(`Fn::Select index ${index} is out of range for ${JSON.stringify(list)}`);
      }
      return list[index];
    }
    case 'Fn::Split': {
      if (!Array.isArray(args) || args.length !== 2) throw new Error(`Fn::Split needs [delimiter, string], got ${JSON.stringify(args)}`);
      return resolveString(args[1], scope, 'Fn::Split').split(String(args[0]));
    }
    default:
      throw new Error(`the CloudFormation emulator does not support ${name} (${JSON.stringify(args).slice(0, 200)})`);
  }
}

/** Rejects template features the emulator would otherwise silently skip. */
export function assertSupported(template: CfnTemplate): void {
  if (template.Conditions && Object.keys(template.Conditions).length > 0) {
    throw new Error('the CloudFormation emulator does not support Conditions; no template of this library has needed them');
  }
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Condition) throw new Error(`${logicalId} has a Condition, which the emulator does not support`);
  }
}

/** For each resource, the resources it references or DependsOn. */
export function dependencies(template: CfnTemplate): Map<string, Set<string>> {
  const resources = template.Resources;
  const deps = new Map<string, Set<string>>();
  for (const [logicalId, resource] of Object.entries(resources)) {
    // CloudFormation resolves Ref and Fn::GetAtt in Metadata too, so they order resources as well.
    const found = referencedResources({ Properties: resource.Properties ?? {}, Metadata: resource.Metadata ?? {} }, resources);
    const dependsOn = resource.DependsOn === undefined ? [] : Array.isArray(resource.DependsOn) ? resource.DependsOn : [resource.DependsOn];
    for (const target of dependsOn) {
      if (!(target in resources)) throw new Error(`${logicalId} DependsOn ${target}, which the template does not define`);
      found.add(target);
    }
    found.delete(logicalId);
    deps.set(logicalId, found);
  }
  return deps;
}

/**
 * The resources of a template in an order in which each comes after
 * everything it references or DependsOn; ties keep template order.
 */
export function dependencyOrder(template: CfnTemplate): string[] {
  const deps = dependencies(template);
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (logicalId: string, path: string[]): void => {
    const seen = state.get(logicalId);
    if (seen === 'done') return;
    if (seen === 'visiting') throw new Error(`circular dependency: ${[...path, logicalId].join(' -> ')}`);
    state.set(logicalId, 'visiting');
    for (const dep of deps.get(logicalId) ?? []) visit(dep, [...path, logicalId]);
    state.set(logicalId, 'done');
    order.push(logicalId);
  };
  for (const logicalId of Object.keys(template.Resources)) visit(logicalId, []);
  return order;
}
