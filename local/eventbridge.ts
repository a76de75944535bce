/**
 * Local EventBridge endpoint: the PutEvents API (JSON protocol, `X-Amz-Target: AWSEvents.PutEvents`)
 * that the SDK's EventBridgeClient calls through `AWS_ENDPOINT_URL_EVENTBRIDGE`, with PutEvents' own
 * checks: 1 to 10 entries per call (else ValidationException), at most 256 KB in all, and per entry
 * a known bus, `Source`, `DetailType` and a `Detail` that is a JSON object — a bad entry is refused in
 * `Entries` with `FailedEntryCount`, as AWS does, while the others are accepted.
 *
 * Accepted events are kept in a sink (the latest 10,000), in order, that tests and developers read with `GET /--events`
 * (`?bus=<name>` to filter; `DELETE /--events` empties it). Events on the default bus also go to the
 * local rules (local/events.ts), as the Step Functions status events do.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { listenOnLoopback } from './listen';

export interface SunkEvent {
  id: string;
  bus: string;
  source: string;
  'detail-type': string;
  time: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface LocalEventBridgeOptions {
  /** Buses that exist besides `default`. */
  buses: string[];
  region: string;
  /** Events put on the default bus, as EventBridge shapes them for rules. */
  onDefaultBusEvent?: (event: Record<string, unknown>) => void;
}

export interface LocalEventBridge {
  endpoint: string;
  /** Records an event that AWS itself emits (e.g. Step Functions' status changes on the default bus). */
  record(event: Omit<SunkEvent, 'id'> & { id?: string }): void;
  events(): readonly SunkEvent[];
  close(): Promise<void>;
}

const MAX_ENTRIES = 10;
/** The sink keeps the latest events only, so a long-running `npm start` does not grow without bound. */
const SINK_LIMIT = 10_000;
const MAX_REQUEST_BYTES = 256 * 1024;

interface Entry {
  EventBusName?: string;
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Time?: number | string;
  Resources?: string[];
}

async function readAll(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(text);
}

const error = (res: ServerResponse, status: number, code: string, message: string) => send(res, status, { __type: code, message });

/** The time of an entry: the SDK sends epoch seconds; absent = now. */
function entryTime(t: Entry['Time']): string {
  if (t === undefined) return new Date().toISOString();
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
  return Number.isNaN(d.getTime()) ? new Date().toISOString() : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export async function startLocalEventBridge(options: LocalEventBridgeOptions): Promise<LocalEventBridge> {
  const buses = new Set(['default', ...options.buses]);
  const sink: SunkEvent[] = [];
  const busOf = (name: string | undefined) => {
    if (!name) return 'default';
    const arn = /^arn:aws[\w-]*:events:[^:]*:[^:]*:event-bus\/(.+)$/.exec(name);
    return arn ? arn[1] : name;
  };

  const putEvents = (res: ServerResponse, text: string) => {
    if (Buffer.byteLength(text) > MAX_REQUEST_BYTES)
      return error(res, 400, 'ValidationException', 'Total size of the entries in the request is over the limit.');
    let body: { Entries?: Entry[] };
    try {
      body = JSON.parse(text) as { Entries?: Entry[] };
    } catch {
      return error(res, 400, 'SerializationException', 'Malformed request body');
    }
    const entries = body.Entries;
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > MAX_ENTRIES) {
      return error(
        res,
        400,
        'ValidationException',
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES} and greater than or equal to 1`,
      );
    }
    const results = entries.map((e) => {
      const bus = busOf(e.EventBusName);
      if (!buses.has(bus)) return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: `Event bus ${bus} does not exist.` };
      if (!e.Source)
        return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.' };
      if (!e.DetailType)
        return {
          ErrorCode: 'InvalidArgument',
          ErrorMessage: 'Parameter DetailType is not valid. Reason: DetailType is a required argument.',
        };
      let detail: unknown;
      try {
        detail = JSON.parse(e.Detail ?? '');
      } catch {
        detail = undefined;
      }
      if (detail === null || typeof detail !== 'object' || Array.isArray(detail))
        return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
      const event: SunkEvent = {
        id: randomUUID(),
        bus,
        source: e.Source,
        'detail-type': e.DetailType,
        time: entryTime(e.Time),
        resources: e.Resources ?? [],
        detail: detail as Record<string, unknown>,
      };
      sink.push(event);
      if (sink.length > SINK_LIMIT) sink.splice(0, sink.length - SINK_LIMIT);
      if (bus === 'default')
        options.onDefaultBusEvent?.({
          version: '0',
          id: event.id,
          'detail-type': event['detail-type'],
          source: event.source,
          account: '000000000000',
          time: event.time,
          region: options.region,
          resources: event.resources,
          detail: event.detail,
        });
      return { EventId: event.id };
    });
    send(res, 200, { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results });
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://local');
      if (url.pathname === '/--events') {
        if (req.method === 'DELETE') sink.splice(0);
        const bus = url.searchParams.get('bus');
        const text = JSON.stringify({ events: sink.filter((e) => !bus || e.bus === bus) });
        res.writeHead(req.method === 'GET' || req.method === 'DELETE' ? 200 : 405, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        });
        return res.end(text);
      }
      const text = await readAll(req);
      const target = String(req.headers['x-amz-target'] ?? '');
      if (req.method !== 'POST' || !target.startsWith('AWSEvents.'))
        return error(res, 400, 'UnknownOperationException', 'Unknown operation');
      if (target !== 'AWSEvents.PutEvents')
        return error(res, 400, 'UnknownOperationException', `${target.slice('AWSEvents.'.length)} is not emulated locally`);
      putEvents(res, text);
    })().catch((err) => {
      if (!res.headersSent) error(res, 500, 'InternalException', String(err));
    });
  });
  const port = await listenOnLoopback(server, 0);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    record: (event) => void sink.push({ id: randomUUID(), ...event }),
    events: () => sink,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
