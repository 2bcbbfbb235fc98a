import { Command } from 'commander';
import { loadProfile } from '../config/file.ts';
import type { Deps } from '../deps.ts';
import { withProfile, type Done } from './shared.ts';

export interface LambdaVerifyOptions {
  profile?: string;
  function: string;
  json: boolean;
  audit?: string;
}

export function lambdaCommand(deps: Deps, done: Done, run = runLambdaVerify): Command {
  const verify = withProfile(new Command('verify'))
    .description('check a deployed function: code signing enforced, VPC, encrypted DLQ, reserved concurrency, and a signed audit entry')
    .argument('<function>', 'function name or ARN (the region comes from the ARN, else aws_region, else AWS_REGION)')
    .option('--json', 'print one JSON object on stdout', false)
    .option('--audit <file>', 'look the tng:audit-id tag up in this `tng audit export` instead of the local trail')
    .addHelpText(
      'after',
      `
Exits 8 when any check fails, naming each. AWS calls use the credentials tng issues for the profile's
aws_role and honour AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_LAMBDA / _SQS / _SNS.

Examples:
  tng lambda verify my-function
  tng lambda verify arn:aws:lambda:eu-west-1:123456789012:function:my-function --json
  tng lambda verify my-function --audit deploy-trail.jsonl`,
    )
    .action(async (name: string, flags: { profile?: string; json: boolean; audit?: string }) => {
      done(await run({ profile: flags.profile, function: name, json: flags.json, audit: flags.audit }, deps));
    });
  return new Command('lambda').description('Lambda functions deployed with tng: `tng lambda verify FUNCTION`').addCommand(verify);
}

export async function runLambdaVerify(options: LambdaVerifyOptions, deps: Deps): Promise<number> {
  const profile = await loadProfile(deps.paths.config, options.profile, deps.env);
  const [{ verifyFunction }, { formatReport, reportJson, failedChecksError }] = await Promise.all([import('../lambda-verify/verify.ts'), import('../lambda-verify/report.ts')]);
  const report = await verifyFunction(profile, options.function, { auditFile: options.audit }, deps);
  if (options.json) deps.io.out(reportJson(report));
  else for (const line of formatReport(report)) deps.io.info(line);
  if (!report.ok) throw failedChecksError(report);
  return 0;
}
