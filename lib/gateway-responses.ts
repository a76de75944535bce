/**
 * The bodies API Gateway answers with on its own — the authorizer refusing a request, an unknown
 * path, throttling, an integration that failed or timed out (gateway responses) — shared by the CDK
 * API (lib/constructs/http-api.ts) and the local gateway so the two match.
 * One body serves every dialect: Triton clients read `{code, message}` (CloudAPI's InvalidCredentials
 * 401 / NotAuthorized 403 …), Huawei SDKs read the gateway shape `{error_code, error_msg, request_id}`,
 * UForge clients read `{statusCode, message}` (present whenever the status is fixed).
 */
export type AuthGatewayResponse = 'UNAUTHORIZED' | 'ACCESS_DENIED';
export type GatewayResponse = AuthGatewayResponse | 'MISSING_AUTHENTICATION_TOKEN' | 'THROTTLED' | 'INTEGRATION_TIMEOUT' | 'DEFAULT_4XX' | 'DEFAULT_5XX';

interface GatewayResponseRow {
  /** The status API Gateway answers with; absent for DEFAULT_4XX/5XX, which keep the original one. */
  status?: number;
  code: string;
  message: string;
  imsCode: string;
}

export const AUTH_GATEWAY_RESPONSES: Record<AuthGatewayResponse, GatewayResponseRow & { status: number }> = {
  UNAUTHORIZED: { status: 401, code: 'InvalidCredentials', message: 'missing or invalid credentials', imsCode: 'APIGW.0301' },
  ACCESS_DENIED: { status: 403, code: 'NotAuthorized', message: 'you are not authorized to do this', imsCode: 'APIGW.0302' },
};

export const GATEWAY_RESPONSES: Record<GatewayResponse, GatewayResponseRow> = {
  ...AUTH_GATEWAY_RESPONSES,
  // A REST API answers a path (or a method) it does not have with 403 "Missing Authentication Token":
  // every dialect's clients expect a 404 for it.
  MISSING_AUTHENTICATION_TOKEN: { status: 404, code: 'ResourceNotFound', message: 'no such resource or method', imsCode: 'APIGW.0101' },
  THROTTLED: { status: 429, code: 'RequestThrottled', message: 'too many requests; retry later', imsCode: 'APIGW.0308' },
  INTEGRATION_TIMEOUT: { status: 504, code: 'ServiceUnavailable', message: 'the request timed out; retry it (with the same Idempotency-Key for creates)', imsCode: 'APIGW.0201' },
  DEFAULT_4XX: { code: 'BadRequest', message: 'the request was refused by the API gateway', imsCode: 'APIGW.0201' },
  DEFAULT_5XX: { code: 'InternalError', message: 'internal error; retry later', imsCode: 'APIGW.0202' },
};

export function gatewayResponseBody(type: GatewayResponse, requestId: string, status?: number): Record<string, string | number> {
  const r = GATEWAY_RESPONSES[type];
  const statusCode = r.status ?? status;
  return { code: r.code, message: r.message, error_code: r.imsCode, error_msg: r.message, request_id: requestId, ...(statusCode !== undefined && { statusCode }) };
}

/** The same body as an API Gateway response template (`$context.requestId` filled in by API Gateway). */
export function gatewayResponseTemplate(type: GatewayResponse): string {
  return JSON.stringify(gatewayResponseBody(type, '__REQUEST_ID__')).replace('"__REQUEST_ID__"', '"$context.requestId"');
}
