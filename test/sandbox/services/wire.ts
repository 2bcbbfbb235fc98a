// What the sandbox's AWS services share: the request they handle, the answer they give, and the AWS
// Query protocol's XML (used by SQS for the AWS CLI and by SNS).
import type { IncomingMessage } from 'node:http';
import { AwsSandboxError, xmlEscape } from '../sigv4.ts';

export { AwsSandboxError };

/** One request after SigV4 verification: the region of its signature, the caller's ARN, its parameters. */
export interface ServiceRequest {
  req: IncomingMessage;
  url: URL;
  body: Buffer;
  region: string;
  callerArn: string;
  requestId: string;
  /** "http://<Host header>": where this client reaches the sandbox (queue URLs are built from it). */
  origin: string;
}

export interface ServiceAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** The operation, for the request log. */
  operation: string;
  /** The error code, for the request log. */
  code?: string;
}

/** The parameters of a Query-protocol request: the query string plus a form body. */
export function queryParams(url: URL, body: Buffer, contentType: string | undefined): URLSearchParams {
  const params = new URLSearchParams(url.search);
  if (contentType === undefined || /^application\/x-www-form-urlencoded/i.test(contentType)) {
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.append(k, v);
  }
  return params;
}

export function queryResponse(action: string, xmlns: string, result: string, requestId: string): string {
  return (
    `<?xml version="1.0"?>\n<${action}Response xmlns="${xmlns}">\n  <${action}Result>${result}</${action}Result>\n` +
    `  <ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>\n</${action}Response>\n`
  );
}

export function queryError(error: AwsSandboxError, xmlns: string, requestId: string, operation: string): ServiceAnswer {
  return {
    status: error.status,
    operation,
    code: error.code,
    headers: { 'Content-Type': 'text/xml' },
    body:
      `<?xml version="1.0"?>\n<ErrorResponse xmlns="${xmlns}">\n  <Error>\n    <Type>${error.type}</Type>\n    <Code>${xmlEscape(error.code)}</Code>\n` +
      `    <Message>${xmlEscape(error.message)}</Message>\n    <Detail/>\n  </Error>\n  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`,
  };
}

export { xmlEscape };
