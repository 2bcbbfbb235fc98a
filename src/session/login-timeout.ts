/** How long a browser or device-code login may take before tng gives up. */
export const LOGIN_TIMEOUT_MS = 5 * 60 * 1000;
