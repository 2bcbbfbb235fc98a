// The undici modules src/net/undici.ts imports one by one; their types are those of undici's entry point.
declare module 'undici/lib/dispatcher/agent.js' {
  const Agent: typeof import('undici').Agent;
  export default Agent;
}
declare module 'undici/lib/dispatcher/dispatcher.js' {
  const Dispatcher: typeof import('undici').Dispatcher;
  export default Dispatcher;
}
declare module 'undici/lib/dispatcher/env-http-proxy-agent.js' {
  const EnvHttpProxyAgent: typeof import('undici').EnvHttpProxyAgent;
  export default EnvHttpProxyAgent;
}
declare module 'undici/lib/web/fetch/index.js' {
  export const fetch: typeof import('undici').fetch;
}
declare module 'undici/lib/web/fetch/formdata.js' {
  export const FormData: typeof import('undici').FormData;
}
declare module 'undici/lib/web/fetch/headers.js' {
  export const Headers: typeof import('undici').Headers;
}
declare module 'undici/lib/web/fetch/request.js' {
  export const Request: typeof import('undici').Request;
}
declare module 'undici/lib/web/fetch/response.js' {
  export const Response: typeof import('undici').Response;
}
declare module 'undici/lib/api/index.js' {
  const methods: Record<string, unknown>;
  export default methods;
}
