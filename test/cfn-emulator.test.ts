/**
 * The CloudFormation emulator's own rules: intrinsics, ordering, and refusing
 * what it cannot emulate. Only record-only resources, so no moto is needed.
 */
import { CloudFormationEmulator } from './support/cfn-emulator';
import { CfnTemplate, dependencyOrder, resolve } from './support/cfn/intrinsics';

const scope = {
  pseudo: { 'AWS::Region': 'eu-west-1', 'AWS::AccountId': '123456789012', 'AWS::Partition': 'aws' },
  parameters: {},
  ref: (id: string) => `${id}-physical`,
  getAtt: (id: string, attribute: string) => `${id}.${attribute}`,
};

function logGroups(resources: Record<string, object>): CfnTemplate {
  return { Resources: Object.fromEntries(Object.entries(resources).map(([id, extra]) => [id, { Type: 'AWS::Logs::LogGroup', ...extra }])) };
}

let emulator: CloudFormationEmulator;
beforeEach(() => { emulator = new CloudFormationEmulator({ endpoint: 'http://127.0.0.1:9' }); });
afterEach(() => emulator.close());

describe('intrinsics', () => {
  test('resolve Ref, GetAtt, Join, Sub in both forms, Select and Split', () => {
    expect(resolve({
      a: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':x:', { Ref: 'Res' }]] },
      b: { 'Fn::Sub': '${AWS::Region}/${Res}/${Res.Arn}/${!Literal}' },
      c: { 'Fn::Sub': ['${Name}-${AWS::AccountId}', { Name: { 'Fn::GetAtt': ['Res', 'Id'] } }] },
      d: { 'Fn::Select': [1, { 'Fn::Split': [':', 'a:b:c'] }] },
    }, scope)).toEqual({
      a: 'arn:aws:x:Res-physical',
      b: 'eu-west-1/Res-physical/Res.Arn/${Literal}',
      c: 'Res.Id-123456789012',
      d: 'b',
    });
  });

  test('an unsupported intrinsic throws instead of passing through', () => {
    expect(() => resolve({ 'Fn::ImportValue': 'x' }, scope)).toThrow(/does not support Fn::ImportValue/);
  });

  test('orders by Ref, GetAtt, Sub and DependsOn, whatever the template order', () => {
    const template = logGroups({
      D: { DependsOn: 'C' },
      C: { Properties: { LogGroupName: { 'Fn::Sub': '${B}-x' } } },
      B: { Properties: { LogGroupName: { 'Fn::GetAtt': ['A', 'Arn'] } } },
      A: {},
    });

    expect(dependencyOrder(template)).toEqual(['A', 'B', 'C', 'D']);
  });

  test('rejects a dependency cycle', () => {
    expect(() => dependencyOrder(logGroups({ A: { DependsOn: 'B' }, B: { DependsOn: 'A' } }))).toThrow(/circular dependency/);
  });
});

describe('CloudFormationEmulator', () => {
  test('creates in dependency order and deletes in reverse', async () => {
    const template = logGroups({ Second: { DependsOn: 'First' }, First: {} });

    const created = await emulator.deploy(template);
    const deleted = await emulator.destroy();

    expect(created.events.map((e) => `${e.action} ${e.logicalId}`)).toEqual(['CREATE First', 'CREATE Second']);
    expect(deleted.events.map((e) => `${e.action} ${e.logicalId}`)).toEqual(['DELETE Second', 'DELETE First']);
    expect(deleted.status).toBe('DELETE_COMPLETE');
  });

  test('a failed create rolls back what was created, in reverse order', async () => {
    const result = await emulator.deploy(logGroups({ A: {}, B: { DependsOn: 'A' }, C: { DependsOn: 'B' } }), { failOn: ['C'] });

    expect(result.status).toBe('ROLLBACK_COMPLETE');
    expect(result.events.map((e) => `${e.phase} ${e.action} ${e.status} ${e.logicalId}`)).toEqual([
      'create CREATE COMPLETE A', 'create CREATE COMPLETE B', 'create CREATE FAILED C',
      'rollback DELETE COMPLETE B', 'rollback DELETE COMPLETE A',
    ]);
  });

  test('an update creates new resources and removes old ones in the cleanup phase', async () => {
    await emulator.deploy(logGroups({ Old: {}, Kept: {} }));

    const result = await emulator.deploy(logGroups({ Kept: {}, New: {} }));

    expect(result.status).toBe('UPDATE_COMPLETE');
    expect(result.events.map((e) => `${e.phase} ${e.action} ${e.logicalId}`)).toEqual(['update CREATE New', 'cleanup DELETE Old']);
    expect(emulator.resources().map((r) => r.logicalId).sort()).toEqual(['Kept', 'New']);
  });

  test('a replace-on property change makes a new physical resource and deletes the old one in cleanup', async () => {
    await emulator.deploy(logGroups({ G: { Properties: { LogGroupName: 'one' } } }));

    const result = await emulator.deploy(logGroups({ G: { Properties: { LogGroupName: 'two' } } }));

    expect(result.events.map((e) => `${e.phase} ${e.action} ${e.physicalId}`)).toEqual(['update UPDATE two', 'cleanup DELETE one']);
  });

  test('throws when failOn names a resource the deployment never creates or updates', async () => {
    await emulator.deploy(logGroups({ A: {} }));

    await expect(emulator.deploy(logGroups({ A: {} }), { failOn: ['A'] })).rejects.toThrow('failOn A: the deployment never created or updated it');
  });

  test('refuses a resource type it has no provider for, before doing anything', async () => {
    await expect(emulator.deploy({ Resources: { Q: { Type: 'AWS::SQS::Queue' } } })).rejects.toThrow(/no provider for AWS::SQS::Queue/);
    expect(emulator.events).toEqual([]);
  });

  test('refuses Conditions rather than ignoring them', async () => {
    await expect(emulator.deploy({ Conditions: { C: { 'Fn::Equals': ['a', 'b'] } }, Resources: {} })).rejects.toThrow(/Conditions/);
  });
});
