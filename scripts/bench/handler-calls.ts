/**
 * The handler's AWS calls against moto: Create, Update, the Delete of the old
 * key that follows an update, and Delete, as the construct sends them, with
 * every SDK call counted by a middleware on the handler's clients, including
 * the read of CloudFormation's record that each request is checked against.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CreateUserCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AwsPort } from '../../lib/handler/aws';
import { handleCloudFormationEvent } from '../../lib/handler/cloudformation';
import { CloudFormationRecords } from '../../test/support/cfn-records';
import { ResponseServer, cfnEvent, lambdaContext } from '../../test/support/cloudformation';
import { Moto, motoClientConfig, startMoto } from '../../test/support/moto';
import { quietly, round } from './common';
import { BENCH_ACCOUNT, BENCH_REGION, BENCH_STACK_NAME, benchUserName } from './stacks';

export interface HandlerStep { request: string; status: string; reason?: string; calls: string[]; ms: number }
export interface HandlerCost { steps: HandlerStep[]; keysLeftAfterDelete?: number; skipped?: string }

/**
 * @param otherEvents how many events of other resources the stack's log holds
 *   (all within the hour, all ended): what a busy stack looks like to the gate
 */
export async function handlerCalls(otherEvents = 0): Promise<HandlerCost> {
  let moto: Moto;
  try {
    moto = await startMoto();
  } catch (e) {
    return { steps: [], skipped: (e as Error).message.split('\n')[0] };
  }
  const server = new ResponseServer();
  await server.start();
  const records = new CloudFormationRecords();
  await records.start();
  try {
    const iam = new IAMClient(motoClientConfig(moto, 'us-east-1'));
    const secrets = new SecretsManagerClient(motoClientConfig(moto, BENCH_REGION));
    const cloudformation = new CloudFormationClient(motoClientConfig({ ...moto, endpoint: records.endpoint }, BENCH_REGION));
    let recording = false;
    const calls: string[] = [];
    for (const client of [iam, secrets, cloudformation] as Array<{ middlewareStack: IAMClient['middlewareStack'] }>) {
      client.middlewareStack.add((next, context) => async (args) => {
        if (recording) calls.push(String(context.commandName).replace(/Command$/, ''));
        return next(args);
      }, { step: 'initialize', name: 'benchCallCounter' });
    }
    const userName = benchUserName(0);
    await iam.send(new CreateUserCommand({ UserName: userName }));
    const secretArn = (await secrets.send(new CreateSecretCommand({ Name: 'SmtpSecretBench' }))).ARN!;
    const target = { Region: BENCH_REGION, Host: `email-smtp.${BENCH_REGION}.amazonaws.com`, Port: '587', SecretArn: secretArn };
    // As the construct sends them: with the stack's owner tag, which the handler sets on the user.
    const stackId = `arn:aws:cloudformation:${BENCH_REGION}:${BENCH_ACCOUNT}:stack/${BENCH_STACK_NAME}/guid`;
    const ownerTag = { Key: `SesSmtpCredentials:${BENCH_REGION}/${BENCH_STACK_NAME}`, Value: stackId };
    const self = { stackId, ownerTagKey: ownerTag.Key, functionName: 'handler', region: BENCH_REGION };
    const log = records.stack(stackId);
    for (let i = 0; log.events.length < otherEvents; i++) {
      log.begin(`Other${i}`, 'AWS::SNS::Topic', 'CREATE');
      log.finish(`Other${i}`, 'AWS::SNS::Topic', 'CREATE', true, `arn:aws:sns:${BENCH_REGION}:${BENCH_ACCOUNT}:Other${i}`);
    }
    const created = { UserName: userName, Targets: [target], OwnerTag: ownerTag };
    const updated = { ...created, Serial: '2' };

    const steps: HandlerStep[] = [];
    const step = async (request: string, type: 'Create' | 'Update' | 'Delete', properties: unknown,
      options: { physicalResourceId?: string; oldResourceProperties?: unknown; logicalResourceId?: string; madeUp?: boolean } = {}) => {
      const event = cfnEvent(server, type, properties, { ...options, stackId });
      // A made-up request is not in CloudFormation's log.
      const logOutcome = options.madeUp ? () => undefined : log.request(event);
      calls.length = 0;
      recording = true;
      const started = process.hrtime.bigint();
      const answer = await quietly(() => handleCloudFormationEvent(event as never, lambdaContext(120_000),
        (signal, undoSignal) => new AwsPort(iam, secrets, signal, { undoSignal, cloudformation }), self));
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      recording = false;
      const response = answer ?? { Status: 'NO ANSWER', Reason: undefined, PhysicalResourceId: '' };
      logOutcome(response);
      steps.push({ request, status: response.Status, reason: response.Reason, calls: [...calls], ms: round(ms, 1) });
      return response.PhysicalResourceId;
    };
    // Each stack operation begins with the stack's own "User Initiated" event, as CloudFormation logs it.
    log.beginStackOperation('CREATE');
    const first = await step('Create', 'Create', created);
    log.beginStackOperation('UPDATE');
    const second = await step('Update (serial change)', 'Update', updated, { physicalResourceId: first, oldResourceProperties: created });
    await step('Delete of the old key (CloudFormation cleanup after the update)', 'Delete', created, { physicalResourceId: first });
    log.beginStackOperation('DELETE');
    await step('Delete', 'Delete', updated, { physicalResourceId: second });
    await step('Create that CloudFormation did not send (refused)', 'Create', created, { logicalResourceId: 'NotAResourceOfTheStack', madeUp: true });
    const left = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
    return { steps, keysLeftAfterDelete: (left.AccessKeyMetadata ?? []).length };
  } finally {
    await server.stop();
    await records.stop();
    await moto.stop();
  }
}

