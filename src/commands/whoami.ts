import { Command } from 'commander';
import { loadProfile } from '../config/file.ts';
import type { Deps } from '../deps.ts';
import type { WhoamiReport } from '../session/whoami.ts';
import { withProfile, type Done } from './shared.ts';

export interface WhoamiOptions {
  profile?: string;
  json: boolean;
  verify: boolean;
}

export function whoamiCommand(deps: Deps, done: Done, run = runWhoami): Command {
  return withProfile(new Command('whoami'))
    .description('show the identity chain, read live: hardware, identity, Vault, AWS, audit')
    .option('--json', 'print one JSON object on stdout', false)
    .option('--no-verify', 'skip the live AWS identity check (STS GetCallerIdentity)')
    .addHelpText('after', '\nExamples:\n  tng whoami\n  tng whoami --json | jq .vault.expires_at')
    .action(async (flags: { profile?: string; json: boolean; verify: boolean }) => {
      done(await run({ profile: flags.profile, json: flags.json, verify: flags.verify }, deps));
    });
}

/** "expire in 14m05s", or "expired 3m10s ago". */
function expiry(verb: string, iso: string | null, nowMs: number): string {
  if (iso === null) return `${verb} at an unknown time`;
  const seconds = Math.round((Date.parse(iso) - nowMs) / 1000);
  return seconds > 0 ? `${verb} in ${span(seconds)}` : `expired ${span(-seconds)} ago`;
}

function span(seconds: number): string {
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return hours > 0 ? `${hours}h${String(minutes).padStart(2, '0')}m` : `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
}

export function formatWhoami(report: WhoamiReport, nowMs: number): string[] {
  const { oidc, vault, aws, audit, hardware } = report;
  return [
    `Profile   ${report.profile}`,
    `Hardware  ${hardware ? `credential ${hardware.credential_id.slice(0, 12)}… (AAGUID ${hardware.aaguid})` : 'not enrolled'}`,
    `Identity  ${oidc.email ?? oidc.subject ?? 'unknown'}${oidc.groups && oidc.groups.length > 0 ? ` [${oidc.groups.join(', ')}]` : ''} at ${oidc.issuer}; ID token ${expiry('expires', oidc.expires_at, nowMs)}`,
    `Vault     ${vault.display_name} at ${vault.addr}; policies ${vault.policies.join(', ') || 'none'}; token ${expiry('expires', vault.expires_at, nowMs)}${vault.renewable ? ' (renewable)' : ''}`,
    `AWS       ${aws ? `${aws.arn ?? aws.access_key_id}; credentials ${expiry('expire', aws.expires_at, nowMs)}` : 'none'}`,
    `Audit     ${audit.entries} entries${audit.last_id ? `, last ${audit.last_id}` : ''}${audit.verified ? '' : ' (NOT verified)'}`,
  ];
}

export async function runWhoami(options: WhoamiOptions, deps: Deps): Promise<number> {
  const profile = await loadProfile(deps.paths.config, options.profile, deps.env);
  const { whoami } = await import('../session/whoami.ts');
  const report = await whoami(profile, deps, options.verify);
  if (options.json) {
    deps.io.out(`${JSON.stringify(report)}\n`);
  } else if (deps.io.live) {
    const { printWhoamiPanel } = await import('../ui/panels.ts');
    await printWhoamiPanel(deps.io, report, deps.clock.now());
  } else {
    for (const line of formatWhoami(report, deps.clock.now())) deps.io.info(line);
  }
  return 0;
}
