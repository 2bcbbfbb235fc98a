/**
 * The hot path: `tng exec` and `tng credential-process` run many times a day (the AWS CLI starts
 * credential-process on every call), so their well-formed invocations are recognised here without
 * commander, whose program takes longer to load than the rest of an exec; so is `tng login`, which starts
 * every shift and waits on nothing else. Anything this parser does not fully understand — help, an unknown
 * or malformed option — goes to the full program, which owns every usage error, so both paths behave the same.
 */
export type HotInvocation =
  | { command: 'exec'; profile?: string; role?: string; roleArn?: string; ttl?: string; aws: boolean; vault: boolean; server: boolean; program: string; args: string[] }
  | { command: 'credential-process'; profile?: string; role?: string }
  | { command: 'login'; profile?: string; deviceCode: boolean; noBrowser: boolean };

const VALUE_OPTIONS = { exec: ['--profile', '--role', '--role-arn', '--ttl'], 'credential-process': ['--profile', '--role'], login: ['--profile'] } as const;
const FLAG_OPTIONS = { exec: ['--no-aws', '--no-vault', '--no-server'], 'credential-process': [], login: ['--device-code', '--no-browser'] } as const;

/** The invocation, when `argv` (without node and the script) is a plain exec, credential-process or login; else undefined. */
export function parseHot(argv: readonly string[]): HotInvocation | undefined {
  const [name, ...rest] = argv;
  if (name !== 'exec' && name !== 'credential-process' && name !== 'login') return undefined;
  const values = new Map<string, string>();
  const flags = new Set<string>();
  let i = 0;
  for (; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-')) break;
    const eq = arg.indexOf('=');
    const option = eq > 0 ? arg.slice(0, eq) : arg;
    if ((VALUE_OPTIONS[name] as readonly string[]).includes(option)) {
      if (values.has(option)) return undefined;
      const value = eq > 0 ? arg.slice(eq + 1) : rest[++i];
      if (value === undefined || value === '' || (eq < 0 && value.startsWith('-'))) return undefined;
      values.set(option, value);
    } else if ((FLAG_OPTIONS[name] as readonly string[]).includes(arg)) {
      flags.add(arg);
    } else {
      return undefined; // --help, -h, an unknown option: the full program answers
    }
  }
  if (name === 'credential-process' || name === 'login') {
    if (i < rest.length) return undefined; // stray arguments are a usage error
    if (name === 'login') return { command: name, profile: values.get('--profile'), deviceCode: flags.has('--device-code'), noBrowser: flags.has('--no-browser') };
    return { command: name, profile: values.get('--profile'), role: values.get('--role') };
  }
  const program = rest[i];
  if (program === undefined) return undefined;
  return {
    command: name,
    profile: values.get('--profile'),
    role: values.get('--role'),
    roleArn: values.get('--role-arn'),
    ttl: values.get('--ttl'),
    aws: !flags.has('--no-aws'),
    vault: !flags.has('--no-vault'),
    server: !flags.has('--no-server'),
    program,
    args: rest.slice(i + 1),
  };
}
