/**
 * The bodies API Gateway answers with by itself (gateway responses), shared by the CDK API
 * (lib/constructs/http-api.ts) and the local gateway so the two match: when the authorizer refuses a
 * request, and when the integration outlasts API Gateway's integration timeout.
 * One body serves every dialect: Triton clients read `{code, message}` (CloudAPI's InvalidCredentials
 * 401 / NotAuthorized 403 / restify's GatewayTimeout 504), Huawei SDKs read the gateway shape
 * `{error_code, error_msg, request_id}` (APIGW.0301/0302, APIGW.0201 for a backend timeout).
 */
export type AuthGatewayResponse = 'UNAUTHORIZED' | 'ACCESS_DENIED';
export type GatewayResponseType = AuthGatewayResponse | 'INTEGRATION_TIMEOUT';

interface GatewayResponseSpec {
  status: number;
  code: string;
  message: string;
  imsCode: string;
}

export const AUTH_GATEWAY_RESPONSES: Record<AuthGatewayResponse, GatewayResponseSpec> = {
  UNAUTHORIZED: { status: 401, code: 'InvalidCredentials', message: 'missing or invalid credentials', imsCode: 'APIGW.0301' },
  ACCESS_DENIED: { status: 403, code: 'NotAuthorized', message: 'you are not authorized to do this', imsCode: 'APIGW.0302' },
};

/** Every gateway response the API customizes. */
export const GATEWAY_RESPONSES: Record<GatewayResponseType, GatewayResponseSpec> = {
  ...AUTH_GATEWAY_RESPONSES,
  INTEGRATION_TIMEOUT: { status: 504, code: 'GatewayTimeout', message: 'the request took longer than the API allows; retry, or use an asynchronous operation', imsCode: 'APIGW.0201' },
};

export function gatewayResponseBody(type: GatewayResponseType, requestId: string): Record<string, string> {
  const r = GATEWAY_RESPONSES[type];
  return { code: r.code, message: r.message, error_code: r.imsCode, error_msg: r.message, request_id: requestId };
}

/** The same body as an API Gateway response template (`$context.requestId` filled in by API Gateway). */
export function gatewayResponseTemplate(type: GatewayResponseType): string {
  return JSON.stringify(gatewayResponseBody(type, '__REQUEST_ID__')).replace('"__REQUEST_ID__"', '"$context.requestId"');
}
