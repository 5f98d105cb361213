/**
 * The set-up of a spec that deploys templates through the CloudFormation
 * emulator into moto with IAM enforced: moto and the administrator's clients
 * once per spec, a cleared moto and a new emulator for each test.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CloudFormationEmulator } from './cfn-emulator';
import { Moto, motoClientConfig, startMoto } from './moto';

export interface EnforcedMoto {
  readonly moto: Moto;
  /** IAM as the administrator (`testing`), in us-east-1 where IAM lives. */
  readonly adminIam: IAMClient;
  readonly adminSecrets: SecretsManagerClient;
}

export async function startEnforcedMoto(): Promise<EnforcedMoto> {
  const moto = await startMoto({ enforceIam: true });
  return { moto, adminIam: new IAMClient(motoClientConfig(moto, 'us-east-1')), adminSecrets: new SecretsManagerClient(motoClientConfig(moto)) };
}

/** Stops what startEnforcedMoto started, as far as it got. */
export async function stopEnforcedMoto(env: Partial<EnforcedMoto>): Promise<void> {
  env.adminIam?.destroy();
  env.adminSecrets?.destroy();
  await env.moto?.stop();
}

/** Clears moto (every account, user, key and secret) and returns an emulator for a new stack. */
export async function freshEmulator(moto: Moto): Promise<CloudFormationEmulator> {
  await moto.reset();
  return new CloudFormationEmulator({ endpoint: moto.endpoint });
}
