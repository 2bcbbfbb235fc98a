/** `tng whoami` on a terminal: the identity chain as one compact panel, with the time left at each link. */
import { Box, Text, renderToString } from 'ink';
import { authenticatorName } from '../../fido2/aaguids.ts';
import type { WhoamiReport } from '../../session/whoami.ts';
import { formatTimeLeft } from '../progress.ts';
import { createStyle, type Style } from '../style.ts';

interface Row {
  label: string;
  lines: string[];
}

/** Green with time to spare, yellow under ten minutes, red when gone. */
function left(style: Style, iso: string | null, nowMs: number): string {
  const text = formatTimeLeft(iso, nowMs);
  if (iso === null) return style.dim(`${text} expiry`);
  const ms = Date.parse(iso) - nowMs;
  const paint = ms <= 0 ? style.red : ms < 10 * 60_000 ? style.yellow : style.green;
  return ms <= 0 ? paint('expired') : `${paint(text)} left`;
}

function ago(iso: string, nowMs: number): string {
  const seconds = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

export function whoamiRows(report: WhoamiReport, nowMs: number, style: Style): Row[] {
  const { hardware, oidc, vault, aws, audit } = report;
  const dot = style.dim(' · ');
  const short = (id: string, n = 12) => (id.length > n ? `${id.slice(0, n)}…` : id);
  return [
    {
      label: 'Hardware',
      lines: hardware
        ? [[style.bold(authenticatorName(hardware.aaguid)), `credential ${short(hardware.credential_id)}`, hardware.last_touch ? `last touch ${ago(hardware.last_touch, nowMs)}` : 'not touched yet'].join(dot)]
        : [style.dim('no security key enrolled (tng enroll)')],
    },
    {
      label: 'Identity',
      lines: [
        [style.bold(oidc.email ?? oidc.subject ?? 'unknown'), ...(oidc.groups && oidc.groups.length > 0 ? [`groups ${oidc.groups.join(', ')}`] : []), `ID token ${left(style, oidc.expires_at, nowMs)}`].join(dot),
        style.dim(oidc.issuer),
      ],
    },
    {
      label: 'Vault',
      lines: [
        [style.bold(vault.display_name), `policies ${vault.policies.join(', ') || 'none'}`, `token ${left(style, vault.expires_at, nowMs)}${vault.renewable ? ' (renewable)' : ''}`].join(dot),
        style.dim(vault.addr),
      ],
    },
    {
      label: 'AWS',
      lines: aws ? [[style.bold(aws.arn || aws.access_key_id), `credentials ${left(style, aws.expires_at, nowMs)}`].join(dot)] : [style.dim('no AWS credentials issued')],
    },
    {
      label: 'Audit',
      lines: [
        [`${audit.entries} entr${audit.entries === 1 ? 'y' : 'ies'}`, audit.verified ? style.green('chain verified') : style.red('NOT verified (tng audit --verify)'), ...(audit.last_id ? [`last ${short(audit.last_id, 8)}`] : [])].join(dot),
      ],
    },
  ];
}

const SGR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const LABEL_WIDTH = 10;

/** Columns a line takes on the terminal (the panel's text is single-width). */
const visible = (text: string) => [...text.replace(SGR, '')].length;

function Panel({ report, nowMs, style, columns }: { report: WhoamiReport; nowMs: number; style: Style; columns: number }) {
  const title = `${style.bold('tng whoami')}${style.dim(' · profile ')}${style.bold(report.profile)}`;
  const rows = whoamiRows(report, nowMs, style);
  // As wide as the content, at most the terminal: longer lines wrap inside the box.
  const content = Math.max(visible(title), ...rows.flatMap((row) => row.lines.map((line) => LABEL_WIDTH + visible(line))));
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1} width={Math.min(columns, content + 4)}>
      <Text>{title}</Text>
      {rows.map((row) => (
        <Box key={row.label}>
          <Box width={LABEL_WIDTH} flexShrink={0}>
            <Text>{style.cyan(row.label)}</Text>
          </Box>
          <Box flexDirection="column" flexShrink={1}>
            {row.lines.map((line, i) => (
              <Text key={i}>{line}</Text>
            ))}
          </Box>
        </Box>
      ))}
    </Box>
  );
}

/** The panel as text for stderr, as wide as the terminal allows. */
export function renderWhoami(report: WhoamiReport, nowMs: number, options: { colour: boolean; columns: number }): string {
  return renderToString(<Panel report={report} nowMs={nowMs} style={createStyle(options.colour)} columns={options.columns} />, { columns: options.columns });
}
