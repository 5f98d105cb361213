import { CfnParameter, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * The NoEcho CloudFormation parameters a value refers to (by logical id),
 * found by resolving it as the template would: a `Ref` to the parameter, or
 * `${Name}` in an `Fn::Sub`, anywhere in the value. Call it at validation,
 * when the stack's parameters are all there.
 *
 * @internal
 */
export function noEchoParametersIn(scope: IConstruct, value: unknown): string[] {
  const stack = Stack.of(scope);
  const noEcho = noEchoParametersOf(stack);
  if (noEcho.size === 0) return [];
  const found = new Set<string>();
  visit(stack.resolve(value), (name) => {
    if (noEcho.has(name)) found.add(name);
  });
  return [...found].sort();
}

/**
 * The logical ids of a stack's NoEcho parameters, found once per stack: this
 * runs at validation, when the construct tree is complete and may no longer
 * change, and a stack with 164 SesSmtpUsers asks 164 times.
 */
function noEchoParametersOf(stack: Stack): Set<string> {
  let ids = noEchoByStack.get(stack);
  if (!ids) {
    ids = new Set(stack.node.findAll()
      .filter((c): c is CfnParameter => c instanceof CfnParameter && c.noEcho === true && Stack.of(c) === stack)
      .map((p) => stack.resolve(p.logicalId) as string));
    noEchoByStack.set(stack, ids);
  }
  return ids;
}

const noEchoByStack = new WeakMap<Stack, Set<string>>();

/** Calls `referenced` with every name a resolved template value refers to. */
function visit(value: unknown, referenced: (name: string) => void): void {
  if (Array.isArray(value)) {
    value.forEach((item) => visit(item, referenced));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, inner] of Object.entries(value)) {
    if (key === 'Ref' && typeof inner === 'string') referenced(inner);
    if (key === 'Fn::Sub') {
      const template = Array.isArray(inner) ? inner[0] : inner;
      if (typeof template === 'string') {
        for (const match of template.matchAll(/\$\{([^}!][^}]*)\}/g)) referenced(match[1]);
      }
    }
    visit(inner, referenced);
  }
}
