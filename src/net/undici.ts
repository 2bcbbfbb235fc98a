/**
 * The parts of undici tng uses, imported one by one. undici's entry point also loads its cookie helpers,
 * which read `globalThis.Headers` and so start Node's own bundled copy of undici as well, besides its mock,
 * cache, WebSocket and EventSource modules: together some 40 ms of a login's CPU for nothing. The e2e
 * tests of proxies and of `vault_cacert` prove the parts still fit together (undici is pinned).
 */
import type * as Undici from 'undici';
import dispatcherMethods from 'undici/lib/api/index.js';
import AgentClass from 'undici/lib/dispatcher/agent.js';
import DispatcherClass from 'undici/lib/dispatcher/dispatcher.js';
import EnvHttpProxyAgentClass from 'undici/lib/dispatcher/env-http-proxy-agent.js';
import { fetch as fetchImplementation } from 'undici/lib/web/fetch/index.js';
import { FormData } from 'undici/lib/web/fetch/formdata.js';
import { Headers } from 'undici/lib/web/fetch/headers.js';
import { Request } from 'undici/lib/web/fetch/request.js';
import { Response } from 'undici/lib/web/fetch/response.js';

// What undici's entry point does first: the request methods (`connect` among them, which the proxy agent's
// CONNECT tunnel uses) live on the dispatcher's prototype.
Object.assign(DispatcherClass.prototype, dispatcherMethods);

export const Agent: typeof Undici.Agent = AgentClass;
export const Dispatcher: typeof Undici.Dispatcher = DispatcherClass;
export const EnvHttpProxyAgent: typeof Undici.EnvHttpProxyAgent = EnvHttpProxyAgentClass;
export type Dispatcher = Undici.Dispatcher;
export const undiciFetch: typeof Undici.fetch = fetchImplementation;

/**
 * Makes undici's fetch classes the global ones, as undici's own `install()` does: openid-client builds its
 * requests with the global `Headers` and checks responses against the global `Response`, which would
 * otherwise start Node's copy of undici to check undici's own responses.
 */
export function installFetchClasses(): void {
  Object.assign(globalThis, { Headers, Response, Request, FormData });
}
