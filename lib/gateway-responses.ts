/**
 * The bodies API Gateway answers with on its own — the authorizer refusing a request, an unknown
 * path, throttling, an integration that failed or outlasted API Gateway's integration timeout
 * (gateway responses) — shared by the CDK API (lib/constructs/http-api.ts) and the local gateway so
 * the two match.
 * One body serves every dialect: Triton clients read `{code, message}` (CloudAPI's InvalidCredentials
 * 401 / NotAuthorized 403 / restify's GatewayTimeout 504), Huawei SDKs read the gateway shape
 * `{error_code, error_msg, request_id}` (APIGW.0301/0302, APIGW.0201 for a backend timeout), UForge
 * clients read `{statusCode, message}` (present whenever the status is fixed).
 */
export type AuthGatewayResponse = 'UNAUTHORIZED' | 'ACCESS_DENIED';
export type GatewayResponseType =
  | AuthGatewayResponse
  | 'INTEGRATION_TIMEOUT'
  | 'MISSING_AUTHENTICATION_TOKEN'
  | 'THROTTLED'
  | 'BAD_REQUEST_BODY'
  | 'DEFAULT_4XX'
  | 'DEFAULT_5XX';
/** @deprecated the same as GatewayResponseType */
export type GatewayResponse = GatewayResponseType;

interface GatewayResponseSpec {
  /** The status API Gateway answers with; absent for DEFAULT_4XX/5XX, which keep the original one. */
  status?: number;
  code: string;
  message: string;
  imsCode: string;
}

export const AUTH_GATEWAY_RESPONSES: Record<AuthGatewayResponse, GatewayResponseSpec & { status: number }> = {
  UNAUTHORIZED: { status: 401, code: 'InvalidCredentials', message: 'missing or invalid credentials', imsCode: 'APIGW.0301' },
  ACCESS_DENIED: { status: 403, code: 'NotAuthorized', message: 'you are not authorized to do this', imsCode: 'APIGW.0302' },
};

/** Every gateway response the API customizes. */
export const GATEWAY_RESPONSES: Record<GatewayResponseType, GatewayResponseSpec> = {
  ...AUTH_GATEWAY_RESPONSES,
  INTEGRATION_TIMEOUT: {
    status: 504,
    code: 'GatewayTimeout',
    message: 'the request took longer than the API allows; retry, or use an asynchronous operation',
    imsCode: 'APIGW.0201',
  },
  // A REST API answers a path (or a method) it does not have with 403 "Missing Authentication Token":
  // every dialect's clients expect a 404 for it.
  MISSING_AUTHENTICATION_TOKEN: { status: 404, code: 'ResourceNotFound', message: 'no such resource or method', imsCode: 'APIGW.0101' },
  THROTTLED: { status: 429, code: 'RequestThrottled', message: 'too many requests; retry later', imsCode: 'APIGW.0308' },
  // A body its route's model refuses (lambdas/openapi/request-models.ts): not JSON — as Triton's handlers answer it.
  BAD_REQUEST_BODY: { status: 400, code: 'BadRequest', message: 'request body is not valid JSON', imsCode: 'APIGW.0201' },
  DEFAULT_4XX: { code: 'BadRequest', message: 'the request was refused by the API gateway', imsCode: 'APIGW.0201' },
  DEFAULT_5XX: { code: 'InternalError', message: 'internal error; retry later', imsCode: 'APIGW.0202' },
};

export function gatewayResponseBody(type: GatewayResponseType, requestId: string, status?: number): Record<string, string | number> {
  const r = GATEWAY_RESPONSES[type];
  const statusCode = r.status ?? status;
  return {
    code: r.code,
    message: r.message,
    error_code: r.imsCode,
    error_msg: r.message,
    request_id: requestId,
    ...(statusCode !== undefined && { statusCode }),
  };
}

/** The same body as an API Gateway response template (`$context.requestId` filled in by API Gateway). */
export function gatewayResponseTemplate(type: GatewayResponseType): string {
  return JSON.stringify(gatewayResponseBody(type, '__REQUEST_ID__')).replace('"__REQUEST_ID__"', '"$context.requestId"');
}
