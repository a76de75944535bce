/**
 * Local DynamoDB: dynalite on loopback. Tables become ACTIVE at once (the *TableMs options are 0);
 * with `dataDir` the data lives in LevelDB under that folder and survives restarts, otherwise in memory.
 * dynalite has no transactions, TTL expiry or streams (see docs/local-emulation.md §1); streams are
 * emulated in front of it (local/dynamo-stream.ts).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { withDynamoFaults } from './protocol-faults';
import { withReadMeters } from './read-meter';
import { mkdirSync } from 'node:fs';
import { listenOnLoopback } from './listen';
import { installLatency, type Latency } from './latency';
import { withStreamCapture, type LocalStream } from './dynamo-stream';

// dynalite ships no type declarations.
type DynaliteFactory = (options: { path?: string; createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;
const dynalite: DynaliteFactory = require('dynalite');

export interface LocalDynamoOptions {
  /** 0 or undefined = an ephemeral port. */
  port?: number;
  /** LevelDB folder; undefined = in memory. */
  dataDir?: string;
  /** Captures every item write as a stream record (local/dynamo-stream.ts). */
  stream?: LocalStream;
}

export interface LocalDynamo {
  endpoint: string;
  /** Latency injection (local/latency.ts). */
  latency: Latency;
  close(): Promise<void>;
}

export async function startLocalDynamo(options: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const server = dynalite({
    path: options.dataDir,
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  // Fault plans from tests (local/faults.ts) act before dynalite sees a request.
  const [listener] = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  // Read meters (local/read-meter.ts) count what tests' requests read.
  const withFaults = withReadMeters(withDynamoFaults(listener));
  let endpoint = '';
  server.on('request', options.stream ? withStreamCapture(withFaults, listener, options.stream, () => endpoint) : withFaults);
  const latency = installLatency(server);
  const port = await listenOnLoopback(server, options.port);
  endpoint = `http://127.0.0.1:${port}`;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    latency,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        // dynalite's close waits for the HTTP server, then closes LevelDB.
        server.close((err?: Error) => (err ? reject(err) : resolve()));
        // SDK clients keep connections alive; don't wait for their idle timeout.
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
