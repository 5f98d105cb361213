/**
 * Synth-time validation a first user hits: IAM user names, the same user
 * twice, too many users for one stack, props that cannot work together,
 * INLINE without a bootstrapless synthesizer, NoEcho parameters, and error
 * messages that never show a secret.
 */
import {
  App, BootstraplessSynthesizer, CfnParameter, Annotations as CoreAnnotations, DefaultStackSynthesizer, Duration, Fn, Stack, StackProps,
} from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { AccessKeySource, HandlerCode, SesSmtpUser, SesSmtpUserProps } from '../lib';
import { errorOf } from './support/templates';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const CR_TYPE = 'Custom::SesSmtpCredentials';
const SOURCE_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:iam-automation/legacy-mail-AbCdEf`;
/** AWS's documented example secret access key: the shape of a real one. */
const SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
/** The same without its slashes: a valid IAM user name, and still a secret. */
const SECRET_AS_NAME = SECRET_ACCESS_KEY.replace(/\//g, 'x');

function newStack(app = new App(), props: StackProps = {}): Stack {
  return new Stack(app, 'S', { env: { account: ACCOUNT, region: REGION }, ...props });
}

function smtpUser(stack: Stack, id: string, userName: string, props: Partial<SesSmtpUserProps> = {}): SesSmtpUser {
  return new SesSmtpUser(stack, id, { user: iam.User.fromUserName(stack, `${id}User`, userName), ...props });
}

/** `users` SesSmtpUsers named like the bench's (smtp-user-0001, ...). */
function manyUsers(stack: Stack, users: number, props: Partial<SesSmtpUserProps> = {}): void {
  for (let i = 0; i < users; i++) smtpUser(stack, `Smtp${i + 1}`, `smtp-user-${String(i + 1).padStart(4, '0')}`, props);
}

/** The synth error of an app, or undefined when it synthesizes. */
function synthError(app: App): string | undefined {
  try {
    app.synth();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

describe('IAM user names', () => {
  test('rejects a name with characters IAM does not allow, naming them and the rule', () => {
    const stack = newStack();

    const message = errorOf(() => smtpUser(stack, 'Smtp', 'legacy mail/relay!'));

    expect(message).toContain("[S/Smtp] The IAM user 'legacy mail/relay!' is not valid: the name after the last '/' contains '!'; the path before it contains a space.");
    expect(message).toContain('IAM user names are 1 to 64 characters of letters, digits and _+=,.@-');
    expect(message).toContain("a user with a path is given by ARN, iam.User.fromUserArn(this, 'User', 'arn:aws:iam::<account>:user/<path>/<name>')");
  });

  test('rejects a name longer than 64 characters, naming its length', () => {
    const stack = newStack();
    const name = `legacy-mail-relay-${'x'.repeat(62)}`;

    expect(name).toHaveLength(80);
    expect(errorOf(() => smtpUser(stack, 'Smtp', name))).toContain('it has 80 characters, more than IAM\'s 64');
  });

  test('accepts a 64-character name made of every character IAM allows', () => {
    const stack = newStack();
    const name = `Az09_+=,.@-${'a'.repeat(53)}`;
    smtpUser(stack, 'Smtp', name);

    expect(name).toHaveLength(64);
    Template.fromStack(stack).hasResourceProperties(CR_TYPE, { UserName: name });
  });

  test('rejects a name without a path that has characters IAM does not allow', () => {
    const stack = newStack();

    expect(errorOf(() => smtpUser(stack, 'Smtp', 'legacy mail relay!')))
      .toContain("[S/Smtp] The IAM user 'legacy mail relay!' is not valid: it contains a space, '!'.");
  });

  test('accepts a path given in front of the name: aws-cdk-lib makes it the same user as fromUserArn would', () => {
    const stack = newStack();
    const smtp = smtpUser(stack, 'Smtp', 'team/legacy-mail');

    expect(smtp.user.userName).toBe('legacy-mail');
    Template.fromStack(stack).hasResourceProperties(CR_TYPE, { UserName: 'legacy-mail' });
  });

  test('accepts a user with a path given by ARN: the handler may act on that ARN, and the user name has no path', () => {
    const stack = newStack();
    const arn = `arn:aws:iam::${ACCOUNT}:user/team/legacy-mail`;
    new SesSmtpUser(stack, 'Smtp', { user: iam.User.fromUserArn(stack, 'User', arn) });

    const template = Template.fromStack(stack);
    template.hasResourceProperties(CR_TYPE, { UserName: 'legacy-mail' });
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).toContain(JSON.stringify(arn));
  });

  test('leaves a name known only at deploy time to the handler', () => {
    const stack = newStack();
    const name = ssm.StringParameter.valueForStringParameter(stack, '/iam/smtp-user-name');

    expect(() => new SesSmtpUser(stack, 'Smtp', { user: iam.User.fromUserName(stack, 'User', name) })).not.toThrow();
  });
});

describe('the same IAM user twice in a stack', () => {
  test('is found in any letter case, since IAM user names are not case sensitive', () => {
    const stack = newStack();
    smtpUser(stack, 'Relay', 'legacy-mail-relay');

    const message = errorOf(() => smtpUser(stack, 'Relay2', 'Legacy-Mail-Relay'));

    expect(message).toContain("[S/Relay2] IAM user 'Legacy-Mail-Relay' already has a SesSmtpUser in this stack (as 'legacy-mail-relay': IAM user names are not case sensitive, so both name one user): S/Relay.");
    expect(message).toContain('additionalRegions');
  });

  test('may be served by two stacks (one key each)', () => {
    const app = new App();
    smtpUser(new Stack(app, 'A', { env: { account: ACCOUNT, region: REGION } }), 'Relay', 'legacy-mail-relay');

    expect(() => smtpUser(new Stack(app, 'B', { env: { account: ACCOUNT, region: REGION } }), 'Relay', 'Legacy-Mail-Relay')).not.toThrow();
  });
});

describe('SesSmtpUsers per stack', () => {
  test('200 users: the error names how many fit and says to split the stack, before aws-cdk-lib\'s generic one', () => {
    const app = new App();
    manyUsers(newStack(app), 200);

    const message = synthError(app);

    expect(message).toContain("Number of resources in stack 'S': 809 is greater than allowed maximum of 500.");
    expect(message).toContain('Its 200 SesSmtpUsers take 809 of them: 4 for the stack\'s shared handler, 4 per SesSmtpUser, and 5 managed policies');
    expect(message).toContain('About 123 SesSmtpUsers fit in one stack like this.');
    expect(message).toContain('Split them across stacks (for example 2 stacks of 100)');
  });

  test('the number it names is measured: 123 users synthesize (499 resources), 124 do not, and the error says 123', () => {
    const fits = new App();
    const stack = newStack(fits);
    manyUsers(stack, 123);
    expect(synthError(fits)).toBeUndefined();
    expect(Object.keys(fits.synth().getStackByName('S').template.Resources)).toHaveLength(499);

    const over = new App();
    manyUsers(newStack(over), 124);
    expect(synthError(over)).toContain('About 123 SesSmtpUsers fit');
  });

  test('the error names the secrets\' resource policies\' share, and what leaving them out fits and gives up', () => {
    const app = new App();
    manyUsers(newStack(app), 200);
    expect(synthError(app)).toContain('The credentials secrets\' resource policies take 200 of the resources: '
      + 'without them (secretResourcePolicy: false) about 164 fit, but any principal allowed secretsmanager:* reads and writes the secrets');
  });

  test('with secretResourcePolicy: false, 164 users synthesize (500 resources) and 165 do not, and no secret has a policy', () => {
    const fits = new App();
    manyUsers(newStack(fits), 164, { secretResourcePolicy: false });
    expect(synthError(fits)).toBeUndefined();
    const resources = Object.values(fits.synth().getStackByName('S').template.Resources as Record<string, { Type: string }>);
    expect(resources).toHaveLength(500);
    expect(resources.filter((r) => r.Type === 'AWS::SecretsManager::ResourcePolicy')).toEqual([]);

    const over = new App();
    manyUsers(newStack(over), 165, { secretResourcePolicy: false });
    const message = synthError(over);
    expect(message).toContain('About 164 SesSmtpUsers fit');
    expect(message).not.toContain('secretResourcePolicy');
  });

  test.each([
    ['breakGlassPrincipals', { breakGlassPrincipals: [new iam.ArnPrincipal('arn:aws:iam::111122223333:role/BreakGlass')] }],
    ['restrictReadsToGrantees', { restrictReadsToGrantees: true }],
  ])('secretResourcePolicy: false with %s, which shapes the policy, is an error naming both', (prop, props) => {
    expect(() => smtpUser(newStack(), 'Smtp', 'legacy-mail-relay', { secretResourcePolicy: false, ...props }))
      .toThrow(`${prop} shapes the secrets' resource policy, which secretResourcePolicy: false leaves out.`);
  });

  test('with CDK\'s version reporting on (the CDK CLI\'s default), its AWS::CDK::Metadata resource is counted, and takes the last free slot', () => {
    const context = { 'aws:cdk:version-reporting': true };
    const fits = new App({ context });
    manyUsers(newStack(fits), 123);
    expect(synthError(fits)).toBeUndefined();
    expect(Object.keys(fits.synth().getStackByName('S').template.Resources)).toHaveLength(500);

    const over = new App({ context });
    manyUsers(newStack(over), 124);
    const message = synthError(over);
    expect(message).toContain("Number of resources in stack 'S': 504 is greater than allowed maximum of 500.");
    expect(message).toContain('other resources take 1. About 123 SesSmtpUsers fit');
  });

  test('with rotation (6 resources per user) it names the number that fits with rotation, and that number does fit', () => {
    const over = new App();
    manyUsers(newStack(over), 120, { rotateEvery: Duration.days(30) });
    const fit = Number(/About (\d+) SesSmtpUsers fit/.exec(synthError(over) ?? '')?.[1]);
    expect(fit).toBeGreaterThan(75);
    expect(fit).toBeLessThan(90);

    const atFit = new App();
    manyUsers(newStack(atFit), fit, { rotateEvery: Duration.days(30) });
    expect(synthError(atFit)).toBeUndefined();
    const beyond = new App();
    manyUsers(newStack(beyond), fit + 1, { rotateEvery: Duration.days(30) });
    expect(synthError(beyond)).toContain(`About ${fit} SesSmtpUsers fit`);
  });

  test('counts what the template holds, CDK\'s version-reporting resource and other resources included', () => {
    const app = new App({ context: { 'aws:cdk:version-reporting': true, '@aws-cdk/core:stackResourceLimit': 60 } });
    const stack = newStack(app);
    new ssm.StringParameter(stack, 'Other', { stringValue: 'x' });
    manyUsers(stack, 20);
    const unlimited = new App({ context: { 'aws:cdk:version-reporting': true, '@aws-cdk/core:stackResourceLimit': 0 } });
    const same = newStack(unlimited);
    new ssm.StringParameter(same, 'Other', { stringValue: 'x' });
    manyUsers(same, 20);
    const resources = Object.keys(unlimited.synth().getStackByName('S').template.Resources).length;

    const message = synthError(app);

    expect(resources).toBe(4 + 4 * 20 + 2);
    expect(message).toContain(`Number of resources in stack 'S': ${resources} is greater than allowed maximum of 60.`);
    expect(message).toContain('other resources take 2. About 13 SesSmtpUsers fit');
  });

  test('says so when the stack\'s other resources leave no room, and how many fit in a stack of their own', () => {
    const app = new App({ context: { '@aws-cdk/core:stackResourceLimit': 10 } });
    const stack = newStack(app);
    for (let i = 0; i < 8; i++) new ssm.StringParameter(stack, `Other${i}`, { stringValue: 'x' });
    manyUsers(stack, 1);

    expect(synthError(app)).toContain('other resources take 8. They leave no room for a SesSmtpUser: '
      + 'move the SesSmtpUsers to a stack of their own, where about 1 fit.');
  });

  test('follows aws-cdk-lib\'s limit setting: 0 turns the check off', () => {
    const app = new App({ context: { '@aws-cdk/core:stackResourceLimit': 0 } });
    manyUsers(newStack(app), 200);

    expect(synthError(app)).toBeUndefined();
  });
});

describe('keySource with rotateEvery', () => {
  test('is refused: rotation cannot change a key the IAM automation owns, and the error says what to do instead', () => {
    const stack = newStack();
    const keySource = AccessKeySource.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Source', SOURCE_ARN));

    const message = errorOf(() => smtpUser(stack, 'Smtp', 'legacy-mail', { keySource, rotateEvery: Duration.days(30) }));

    expect(message).toContain('[S/Smtp] rotateEvery cannot be combined with keySource');
    expect(message).toContain('Rotate the key in the IAM automation: followKeySource (on by default) re-derives the passwords');
    expect(message).toContain('Remove rotateEvery, or remove keySource');
  });
});

describe('HandlerCode.INLINE', () => {
  const WARNING = 'ses-smtp-credentials:inlineNeedsBootstrap';
  const bootstrapWarnings = (stack: Stack, path = '*') => Annotations.fromStack(stack).findWarning(path, Match.stringLikeRegexp(WARNING));

  test('with the default synthesizer warns, once per stack, that the template still needs bootstrap and how to avoid it', () => {
    const stack = newStack();
    smtpUser(stack, 'SmtpA', 'mail-a', { handlerCode: HandlerCode.INLINE });
    smtpUser(stack, 'SmtpB', 'mail-b', { handlerCode: HandlerCode.INLINE });

    const warnings = bootstrapWarnings(stack);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].id).toBe('/S/SmtpA');
    expect(warnings[0].entry.data).toContain('DefaultStackSynthesizer, which adds a bootstrap version check');
    expect(warnings[0].entry.data).toContain('synthesizer: new BootstraplessSynthesizer()');
  });

  test('with a BootstraplessSynthesizer, or with the default ASSET code, gives no such warning', () => {
    const bootstrapless = newStack(new App(), { synthesizer: new BootstraplessSynthesizer() });
    smtpUser(bootstrapless, 'Smtp', 'mail-a', { handlerCode: HandlerCode.INLINE });
    const assets = newStack();
    smtpUser(assets, 'Smtp', 'mail-a');

    expect(bootstrapWarnings(bootstrapless)).toHaveLength(0);
    expect(bootstrapWarnings(assets)).toHaveLength(0);
  });

  test('can be acknowledged where the synthesizer is built without the bootstrap version rule', () => {
    const stack = newStack(new App(), { synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }) });
    smtpUser(stack, 'Smtp', 'mail-a', { handlerCode: HandlerCode.INLINE });

    CoreAnnotations.of(stack).acknowledgeWarning(WARNING, 'no bootstrap version rule in this template');

    expect(bootstrapWarnings(stack)).toHaveLength(0);
    expect(Template.fromStack(stack).toJSON().Parameters?.BootstrapVersion).toBeUndefined();
  });
});

describe('NoEcho CloudFormation parameters', () => {
  /** A stack with a NoEcho parameter 'Hidden' and the props that use it. */
  function withNoEcho(props: (stack: Stack, hidden: CfnParameter) => Partial<SesSmtpUserProps> & { userName?: string }, type: string): App {
    const app = new App();
    const stack = newStack(app);
    const hidden = new CfnParameter(stack, 'Hidden', { type, noEcho: true });
    const { userName, ...rest } = props(stack, hidden);
    smtpUser(stack, 'Smtp', userName ?? 'legacy-mail', rest);
    return app;
  }

  test.each<[string, (stack: Stack, hidden: CfnParameter) => Partial<SesSmtpUserProps> & { userName?: string }, string]>([
    ['user', (_stack, hidden) => ({ userName: hidden.valueAsString }), 'String'],
    ['user', (_stack, hidden) => ({ userName: hidden.valueAsString, rotateEvery: Duration.days(30) }), 'String'],
    ['region', (_stack, hidden) => ({ region: hidden.valueAsString, smtpHosts: {} }), 'String'],
    ['smtpHosts', (_stack, hidden) => ({ smtpHosts: { [REGION]: hidden.valueAsString } }), 'String'],
    ['port', (_stack, hidden) => ({ port: hidden.valueAsNumber }), 'Number'],
    ['serial', (_stack, hidden) => ({ serial: hidden.valueAsString }), 'String'],
    ['keySource', (stack, hidden) => ({ keySource: AccessKeySource.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Source', hidden.valueAsString)) }), 'String'],
    ['keySource', (stack, hidden) => ({ keySource: AccessKeySource.fromPlainTextSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Source', SOURCE_ARN), hidden.valueAsString) }), 'String'],
    ['secretName', () => ({ secretName: Fn.sub('smtp/${Hidden}') }), 'String'],
    ['secretDescription', (_stack, hidden) => ({ secretDescription: `SMTP for ${hidden.valueAsString}` }), 'String'],
  ])('in %s: synth fails, naming the prop, the parameter and the fix', (prop, props, type) => {
    const message = synthError(withNoEcho(props, type));

    expect(message).toContain(`[S/Smtp] ${prop} refers to the NoEcho CloudFormation parameter 'Hidden'.`);
    expect(message).toContain('shows its value as ***** in the stack events');
    expect(message).toContain("declare parameter 'Hidden' without noEcho");
  });

  test('a plain parameter is fine, and feeds the description and the rotation registration', () => {
    const app = new App();
    const stack = newStack(app);
    const name = new CfnParameter(stack, 'MailUser', { type: 'String' });
    smtpUser(stack, 'Smtp', name.valueAsString, { rotateEvery: Duration.days(30) });

    expect(synthError(app)).toBeUndefined();
    const template = JSON.stringify(app.synth().getStackByName('S').template);
    expect(template).toContain('{"Ref":"MailUser"}');
  });
});

describe('error messages never show a secret', () => {
  const source = (stack: Stack) => secretsmanager.Secret.fromSecretCompleteArn(stack, 'Source', SOURCE_ARN);

  test.each<[string, (stack: Stack) => unknown]>([
    ['a secret access key given as the access key id', (stack) => AccessKeySource.fromPlainTextSecret(source(stack), SECRET_ACCESS_KEY)],
    ['a secret access key after ASIA, given as the access key id', (stack) => AccessKeySource.fromPlainTextSecret(source(stack), `ASIA${SECRET_ACCESS_KEY}`)],
    ['a secret access key given as both JSON field names', (stack) => AccessKeySource.fromSecret(source(stack), { accessKeyIdField: SECRET_ACCESS_KEY, secretAccessKeyField: SECRET_ACCESS_KEY })],
    ['a secret access key pasted with its line break as the user name', (stack) => smtpUser(stack, 'Smtp', `${SECRET_ACCESS_KEY}\n`)],
    ['a secret-shaped user name given twice', (stack) => { smtpUser(stack, 'Smtp', SECRET_AS_NAME); smtpUser(stack, 'Smtp2', SECRET_AS_NAME); }],
    ['a secret access key asked for as a region', (stack) => smtpUser(stack, 'Smtp', 'legacy-mail').secretForRegion(SECRET_ACCESS_KEY)],
  ])('%s', (_what, act) => {
    const stack = newStack();

    const message = errorOf(() => act(stack));

    for (const secret of [SECRET_ACCESS_KEY, SECRET_AS_NAME]) {
      expect(message).not.toContain(secret.slice(0, 16));
      expect(message).not.toContain(secret.slice(-16));
    }
    expect(message).toContain('not shown: it looks like a secret access key or password');
  });

  test('says what the mistake probably was when the secret access key is given as the access key id', () => {
    const stack = newStack();

    const message = errorOf(() => AccessKeySource.fromPlainTextSecret(source(stack), SECRET_ACCESS_KEY));

    expect(message).toBe('AccessKeySource.fromPlainTextSecret: a value of 40 characters (not shown: it looks like a secret access key or password) '
      + 'is not an IAM access key id (AKIA followed by 16 upper-case letters or digits). It looks like a secret access key: give the access key id here, '
      + 'and keep the secret access key only in the secret\'s value.');
  });

  test('still quotes values that are not secret-shaped, so the user sees what was wrong', () => {
    expect(errorOf(() => AccessKeySource.fromPlainTextSecret(source(newStack()), 'AKIA123'))).toContain("'AKIA123' is not an IAM access key id");
    expect(errorOf(() => AccessKeySource.fromPlainTextSecret(source(newStack()), 'ASIAIOSFODNN7EXAMPLE'))).toContain("'ASIAIOSFODNN7EXAMPLE' is a temporary (STS) access key id");
  });
});
