import { TngError } from '../errors.ts';
import type { VerifyReport } from './verify.ts';

/** The table on stderr: one line per check, its result and why. */
export function formatReport(report: VerifyReport): string[] {
  const width = Math.max(5, ...report.checks.map((c) => c.name.length));
  const lines = [`Lambda function ${report.function}`, '', `${'CHECK'.padEnd(width)}  RESULT  DETAIL`];
  for (const check of report.checks) lines.push(`${check.name.padEnd(width)}  ${(check.ok ? 'pass' : 'FAIL').padEnd(6)}  ${check.detail}`);
  const failed = report.checks.filter((c) => !c.ok).length;
  lines.push('', failed === 0 ? `All ${report.checks.length} checks pass.` : `${failed} of ${report.checks.length} checks fail.`);
  return lines;
}

/** `--json`: one object, every key always present. */
export function reportJson(report: VerifyReport): string {
  return `${JSON.stringify({ function: report.function, region: report.region, checks: report.checks.map(({ name, ok, detail }) => ({ name, ok, detail })), ok: report.ok })}\n`;
}

/** Exit 8, the first line naming every failing check. */
export function failedChecksError(report: VerifyReport): TngError {
  const failing = report.checks.filter((c) => !c.ok).map((c) => c.name);
  return new TngError('verification', 'lambda.verify-failed', `Lambda function ${report.function} fails ${failing.length} of ${report.checks.length} checks: ${failing.join(', ')}.`, {
    hint: 'Fix the function as the lambda template builds it (`tng init --template lambda DIR`), redeploy through `tng exec -- terraform apply` so the tng:audit-id tag names a signed entry, then verify again.',
  });
}
