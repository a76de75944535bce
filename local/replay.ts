/**
 * A request whose body a wrapper in front of the local DynamoDB has already read (fault plans in
 * local/protocol-faults.ts, read meters in local/read-meter.ts, the stream capture in
 * local/dynamo-stream.ts), made readable again for the server behind it: same headers, method, URL and
 * socket, the same body.
 */
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';

export function replayRequest(req: IncomingMessage, body: string | Buffer): IncomingMessage {
  const replay = Object.assign(new PassThrough(), {
    headers: req.headers,
    method: req.method,
    url: req.url,
    httpVersion: req.httpVersion,
    socket: req.socket,
  });
  replay.end(body);
  return replay as unknown as IncomingMessage;
}
