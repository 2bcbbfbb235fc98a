/**
 * The whole local sandbox: a Dex-shaped OIDC provider and a Vault emulator wired together the way an
 * organisation's would be (Vault's JWT auth method trusts the provider's keys). Used by the tests and
 * `npm run demo`; `node --import tsx test/sandbox/index.ts` starts it for manual use.
 */
import { startOidcSandbox, type OidcSandbox, type OidcSandboxOptions } from './oidc.ts';
import { startVaultSandbox, type JwtRole, type VaultSandbox } from './vault/index.ts';

export const CLIENT_ID = 'tng';
export const ROLE = 'engineer';

/** The Vault role an organisation would configure for tng's Dex client. */
export const ENGINEER_ROLE: JwtRole = {
  role_type: 'jwt',
  bound_audiences: [CLIENT_ID],
  user_claim: 'email',
  groups_claim: 'groups',
  token_policies: ['engineer'],
  token_ttl: '15m',
  token_max_ttl: '1h',
};

export interface Sandbox {
  issuer: string;
  vaultAddr: string;
  oidc: OidcSandbox;
  vault: VaultSandbox;
  close(): Promise<void>;
}

export async function startSandbox(options: { oidc?: OidcSandboxOptions } = {}): Promise<Sandbox> {
  const oidc = await startOidcSandbox(options.oidc);
  const vault = await startVaultSandbox({
    jwt: {
      mount: 'jwt',
      oidc_discovery_url: oidc.issuer,
      bound_issuer: oidc.issuer,
      roles: {
        [ROLE]: ENGINEER_ROLE,
        // Bound to another client: an ID token minted for tng is refused (audience mismatch).
        'other-audience': { ...ENGINEER_ROLE, bound_audiences: ['some-other-client'] },
      },
    },
  });
  return {
    issuer: oidc.issuer,
    vaultAddr: vault.addr,
    oidc,
    vault,
    close: async () => {
      await Promise.allSettled([vault.close(), oidc.close()]);
    },
  };
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const sandbox = await startSandbox();
  process.stdout.write(`issuer     ${sandbox.issuer}\nvault_addr ${sandbox.vaultAddr}\nclient_id  ${CLIENT_ID}\nvault_role ${ROLE}\n`);
  process.stdout.write('Users: alice@example.com / password, bob@example.com / password. Ctrl-C to stop.\n');
  process.on('SIGINT', () => void sandbox.close().then(() => process.exit(0)));
}
