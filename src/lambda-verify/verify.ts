/**
 * `tng lambda verify`: the profile's session and AWS credentials (as `credential-process` gets them, never
 * logging in), the function's facts from AWS, the audit source, and the five checks.
 */
import { newAuditId } from '../audit/chain.ts';
import { awsCredentials } from '../aws/provider.ts';
import { enrolledCredentials, readConfigFile } from '../config/file.ts';
import type { Profile } from '../config/profile.ts';
import type { Deps } from '../deps.ts';
import { usageError } from '../errors.ts';
import { currentSession } from '../session/current.ts';
import { evaluateAudit, loadAuditSource } from './audit.ts';
import { AUDIT_TAG, hardeningChecks, type CheckResult } from './checks.ts';
import { inspectFunction } from './inspect.ts';

export interface VerifyReport {
  function: string;
  region: string;
  checks: CheckResult[];
  ok: boolean;
}

/** The function's region: its ARN's, else the profile's aws_region, else AWS_REGION / AWS_DEFAULT_REGION. */
export function functionRegion(functionName: string, profile: Pick<Profile, 'awsRegion' | 'name'>, env: NodeJS.ProcessEnv): string {
  const fromArn = /^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):/.exec(functionName)?.[1];
  const region = fromArn ?? profile.awsRegion ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined);
  if (region === undefined) {
    throw usageError(
      'lambda.no-region',
      `No AWS region for the function "${functionName}".`,
      `Pass the function's ARN, run \`tng init --profile ${profile.name} --aws-region REGION\`, or set AWS_REGION.`,
    );
  }
  return region;
}

export async function verifyFunction(profile: Profile, functionName: string, options: { auditFile?: string }, deps: Deps): Promise<VerifyReport> {
  const role = profile.awsRole;
  if (!role) {
    throw usageError('aws.no-role', `Profile "${profile.name}" has no aws_role, so tng has no AWS credentials to read the function with.`, `Run \`tng init --profile ${profile.name} --aws-role ROLE\`.`);
  }
  const region = functionRegion(functionName, profile, deps.env);
  // The audit source is read first: a missing --audit file is a usage error before any network call.
  const audit = await loadAuditSource(deps.paths.state, options.auditFile);
  await currentSession(profile, deps, false);
  const credentials = await awsCredentials(profile, { role, roleArn: profile.awsRoleArn, ttlSeconds: profile.awsTtlSeconds, auditId: newAuditId() }, deps);
  const facts = await inspectFunction(functionName, { credentials, region, env: deps.env });
  const enrolledHere = enrolledCredentials(await readConfigFile(deps.paths.config)).map(({ profile: name, entry }) => ({ profile: name, credential_id: entry.credential_id, public_key: entry.public_key }));
  const checks = [...hardeningChecks(facts), evaluateAudit(facts.tags[AUDIT_TAG], audit, enrolledHere)];
  return { function: facts.arn, region, checks, ok: checks.every((c) => c.ok) };
}
