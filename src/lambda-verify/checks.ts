/**
 * The five named checks of `tng lambda verify`, as pure functions over what was read from AWS (and the
 * audit trail): each says pass or fail and why, in one line.
 */
export const CHECK_NAMES = ['code signing', 'VPC', 'DLQ', 'reserved concurrency', 'audit'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export interface CheckResult {
  name: CheckName;
  ok: boolean;
  detail: string;
}

/** What Lambda, SQS and SNS told about the function. */
export interface FunctionFacts {
  name: string;
  arn: string;
  region: string;
  codeSigning: { configArn: string; policy: string | undefined } | undefined;
  subnetIds: string[];
  vpcId: string | undefined;
  deadLetter: DeadLetterFacts | undefined;
  reservedConcurrency: number | undefined;
  tags: Record<string, string>;
}

export type DeadLetterFacts =
  | { kind: 'sqs' | 'sns'; targetArn: string; found: true; kmsMasterKeyId: string | undefined }
  | { kind: 'sqs' | 'sns'; targetArn: string; found: false }
  | { kind: 'other'; targetArn: string };

export const AUDIT_TAG = 'tng:audit-id';

const pass = (name: CheckName, detail: string): CheckResult => ({ name, ok: true, detail });
const fail = (name: CheckName, detail: string): CheckResult => ({ name, ok: false, detail });

export function codeSigningCheck(facts: FunctionFacts): CheckResult {
  const csc = facts.codeSigning;
  if (csc === undefined) return fail('code signing', 'no code signing config: unsigned code can be deployed');
  const id = csc.configArn.split(':').at(-1);
  if (csc.policy === 'Enforce') return pass('code signing', `${id} rejects unsigned or untrusted code (UntrustedArtifactOnDeployment = Enforce)`);
  return fail('code signing', `${id} only warns about untrusted code (UntrustedArtifactOnDeployment = ${csc.policy ?? 'unset'}, not Enforce)`);
}

export function vpcCheck(facts: FunctionFacts): CheckResult {
  if (facts.subnetIds.length === 0) return fail('VPC', 'no subnets attached: the function runs outside any VPC');
  return pass('VPC', `${facts.subnetIds.length} subnet${facts.subnetIds.length === 1 ? '' : 's'} (${facts.subnetIds.join(', ')})${facts.vpcId ? ` in ${facts.vpcId}` : ''}`);
}

/** `alias/aws/…` names an AWS-managed key, as an alias name or as an alias ARN. */
export function isAwsManagedKey(keyId: string): boolean {
  return /^(arn:aws[a-z-]*:kms:[^:]*:[^:]*:)?alias\/aws\//.test(keyId);
}

export function deadLetterCheck(facts: FunctionFacts): CheckResult {
  const dlq = facts.deadLetter;
  if (dlq === undefined) return fail('DLQ', 'no dead-letter target: failed asynchronous events are lost');
  if (dlq.kind === 'other') return fail('DLQ', `dead-letter target ${dlq.targetArn} is neither an SQS queue nor an SNS topic`);
  const what = dlq.kind === 'sqs' ? 'queue' : 'topic';
  const name = dlq.targetArn.split(':').at(-1);
  if (!dlq.found) return fail('DLQ', `dead-letter ${what} ${name} does not exist (${dlq.targetArn})`);
  if (dlq.kmsMasterKeyId === undefined || dlq.kmsMasterKeyId === '') return fail('DLQ', `dead-letter ${what} ${name} is not encrypted with a KMS key (no KmsMasterKeyId)`);
  if (isAwsManagedKey(dlq.kmsMasterKeyId)) return fail('DLQ', `dead-letter ${what} ${name} uses the AWS-managed key ${dlq.kmsMasterKeyId}, not a customer-managed one`);
  return pass('DLQ', `${dlq.kind.toUpperCase()} ${what} ${name}, encrypted with ${dlq.kmsMasterKeyId}`);
}

export function concurrencyCheck(facts: FunctionFacts): CheckResult {
  if (facts.reservedConcurrency === undefined) return fail('reserved concurrency', 'not set: the function can take the account\'s whole concurrency');
  return pass('reserved concurrency', facts.reservedConcurrency === 0 ? '0 (the function is throttled: it cannot run)' : String(facts.reservedConcurrency));
}

/** The four checks that need only AWS's answers, in the contract's order (audit comes last). */
export function hardeningChecks(facts: FunctionFacts): CheckResult[] {
  return [codeSigningCheck(facts), vpcCheck(facts), deadLetterCheck(facts), concurrencyCheck(facts)];
}
