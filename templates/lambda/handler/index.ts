/**
 * An example handler: checks queued webhook deliveries against a key kept in Vault. The function logs
 * in to Vault with its own IAM role (the AWS auth method, through `tng/lambda`); nothing secret is in
 * its code, package or environment.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createVaultClient } from 'tng/lambda';

/** A webhook delivery, handed over asynchronously (e.g. by EventBridge or SNS). */
export interface WebhookEvent {
  id: string;
  body: string;
  /** Hex HMAC-SHA256 of `body` as the sender computed it. */
  signature: string;
}

export interface WebhookResult {
  id: string;
  verified: true;
}

/** The function's KV v2 secret (`function_secret` in the Terraform module). */
interface FunctionSecret {
  webhook_key?: string;
}

function setting(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

function required(name: string): string {
  const value = setting(name);
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
}

// Module scope: made once per execution environment, so warm invocations reuse its Vault token until
// that nears expiry. VAULT_ADDR and VAULT_AUTH_ROLE are read by the client itself.
const vault = createVaultClient({
  authMount: setting('VAULT_AUTH_MOUNT'),
  namespace: setting('VAULT_NAMESPACE'),
  iamServerId: setting('VAULT_IAM_SERVER_ID'),
  region: setting('VAULT_STS_REGION'),
});
const secretMount = setting('SECRET_MOUNT') ?? 'secret';
const secretPath = required('SECRET_PATH');

export async function handler(event: WebhookEvent): Promise<WebhookResult> {
  // Read on every invocation, so a rotated key applies at once. Never log it.
  const secret = await vault.readKv<FunctionSecret>(secretMount, secretPath);
  const key = secret.webhook_key;
  if (typeof key !== 'string' || key === '') {
    throw new Error(`${secretMount}/${secretPath} has no webhook_key`);
  }

  const expected = createHmac('sha256', key).update(event.body, 'utf8').digest();
  const given = Buffer.from(event.signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    // Lambda retries a failed asynchronous invocation, then puts it in the encrypted dead-letter queue.
    throw new Error(`webhook ${event.id}: the signature does not match`);
  }
  console.log(JSON.stringify({ id: event.id, verified: true }));
  return { id: event.id, verified: true };
}
