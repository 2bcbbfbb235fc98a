/**
 * Service endpoints chosen the way the AWS SDKs choose them from the environment: `AWS_ENDPOINT_URL_<ID>`
 * (the service id upper-cased, spaces as underscores: STS, LAMBDA, SQS, SNS), else `AWS_ENDPOINT_URL`, and
 * neither when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`. Without one, AWS's own regional endpoint.
 */
export type ServiceId = 'STS' | 'Lambda' | 'SQS' | 'SNS';

const PREFIX: Record<ServiceId, string> = { STS: 'sts', Lambda: 'lambda', SQS: 'sqs', SNS: 'sns' };

/** The endpoint the environment configures for a service, or undefined. */
export function configuredEndpoint(env: NodeJS.ProcessEnv, service: ServiceId): string | undefined {
  if ((env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '').toLowerCase() === 'true') return undefined;
  return env[`AWS_ENDPOINT_URL_${service.toUpperCase().replace(/ /g, '_')}`] || env.AWS_ENDPOINT_URL || undefined;
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
