// The parts of http-signature 1.4 (Joyent's reference implementation, which the triton CLI's signer
// smartdc-auth uses) that the Signature scheme calls. The package ships no types.
declare module 'http-signature' {
  import type { Key } from 'sshpk';
  export interface ParsedSignature {
    scheme: string;
    params: { keyId: string; algorithm: string; headers: string[]; signature: string; [k: string]: unknown };
    signingString: string;
    algorithm: string;
    keyId: string;
  }
  export interface ParseOptions {
    clockSkew?: number;
    headers?: string[];
    algorithms?: string[];
    strict?: boolean;
    authorizationHeaderName?: string;
  }
  export function parseRequest(
    request: { method: string; url: string; headers: Record<string, string>; httpVersion?: string },
    options?: ParseOptions,
  ): ParsedSignature;
  export function verifySignature(parsed: ParsedSignature, pubkey: Key | string | Buffer): boolean;
}
