/**
 * The bodies API Gateway answers with when the authorizer refuses a request (gateway responses),
 * shared by the CDK API (lib/constructs/http-api.ts) and the local gateway so the two match.
 * One body serves every dialect: Triton clients read `{code, message}` (CloudAPI's InvalidCredentials
 * 401 / NotAuthorized 403), Huawei SDKs read the gateway shape `{error_code, error_msg, request_id}`.
 */
export type AuthGatewayResponse = 'UNAUTHORIZED' | 'ACCESS_DENIED';

export const AUTH_GATEWAY_RESPONSES: Record<AuthGatewayResponse, { status: number; code: string; message: string; imsCode: string }> = {
  UNAUTHORIZED: { status: 401, code: 'InvalidCredentials', message: 'missing or invalid credentials', imsCode: 'APIGW.0301' },
  ACCESS_DENIED: { status: 403, code: 'NotAuthorized', message: 'you are not authorized to do this', imsCode: 'APIGW.0302' },
};

export function gatewayResponseBody(type: AuthGatewayResponse, requestId: string): Record<string, string> {
  const r = AUTH_GATEWAY_RESPONSES[type];
  return { code: r.code, message: r.message, error_code: r.imsCode, error_msg: r.message, request_id: requestId };
}

/** The same body as an API Gateway response template (`$context.requestId` filled in by API Gateway). */
export function gatewayResponseTemplate(type: AuthGatewayResponse): string {
  return JSON.stringify(gatewayResponseBody(type, '__REQUEST_ID__')).replace('"__REQUEST_ID__"', '"$context.requestId"');
}
