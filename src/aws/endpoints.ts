/**
 * Service endpoints chosen the way the AWS SDKs choose them from the environment: `AWS_ENDPOINT_URL_<ID>`
 * (the service id upper-cased, spaces as underscores: STS, LAMBDA, SQS, SNS), else `AWS_ENDPOINT_URL`, and
 * neither when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`. Without one, AWS's own regional endpoint.
 */
import { usageError } from '../errors.ts';
import { parseHttpUrl } from '../net/url.ts';

export type ServiceId = 'STS' | 'Lambda' | 'SQS' | 'SNS';

const PREFIX: Record<ServiceId, string> = { STS: 'sts', Lambda: 'lambda', SQS: 'sqs', SNS: 'sns' };

/** The endpoint the environment configures for a service, or undefined; one that is not an http(s) URL is exit 2. */
export function configuredEndpoint(env: NodeJS.ProcessEnv, service: ServiceId): string | undefined {
  if ((env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '').toLowerCase() === 'true') return undefined;
  const specific = `AWS_ENDPOINT_URL_${service.toUpperCase().replace(/ /g, '_')}`;
  const variable = env[specific] ? specific : env.AWS_ENDPOINT_URL ? 'AWS_ENDPOINT_URL' : undefined;
  if (variable === undefined) return undefined;
  const value = env[variable] as string;
  if (parseHttpUrl(value) === undefined) {
    throw usageError('aws.endpoint-invalid', `${variable} "${value}" is not an endpoint URL.`, `Set ${variable} to a URL with its scheme, such as https://${PREFIX[service]}.example.com, or unset it.`);
  }
  return value;
}

/** AWS's own endpoint of a service in a region (China regions live under amazonaws.com.cn). */
export function defaultEndpoint(service: ServiceId, region: string): string {
  return `https://${PREFIX[service]}.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}

/** Where a call to the service goes: the configured endpoint, else AWS's own. */
export function serviceEndpoint(env: NodeJS.ProcessEnv, service: ServiceId, region: string): { url: string; configured: boolean } {
  const configured = configuredEndpoint(env, service);
  return configured ? { url: configured, configured: true } : { url: defaultEndpoint(service, region), configured: false };
}
