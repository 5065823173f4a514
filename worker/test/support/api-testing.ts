type ApiTesting = typeof import('@outpost/api/testing');

// The API package is imported by name at run time, so the suites using it need `npm run build -w @outpost/api` first.
const apiTesting = '@outpost/api/testing';

async function load(): Promise<ApiTesting> {
  return (await import(apiTesting)) as ApiTesting;
}

/** A real API on its own database: the API's own test server. */
export async function startTestServer(
  ...args: Parameters<ApiTesting['startTestServer']>
): ReturnType<ApiTesting['startTestServer']> {
  return (await load()).startTestServer(...args);
}

/** A receiver of the spans sent to it over OTLP/HTTP: the API's own. */
export async function startOtlpReceiver(): ReturnType<ApiTesting['startOtlpReceiver']> {
  return (await load()).startOtlpReceiver();
}
