/**
 * The local PutEvents endpoint (local/eventbridge.ts) through the real EventBridgeClient: accepted
 * entries land in the sink in order; bad entries are refused per entry as PutEvents refuses them while
 * the others are accepted; more than 10 entries is a ValidationException.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { startLocalEventBridge, type LocalEventBridge } from '../../../local/eventbridge';

let eb: LocalEventBridge;
let client: EventBridgeClient;
const onDefault: Record<string, unknown>[] = [];

beforeAll(async () => {
  eb = await startLocalEventBridge({ buses: ['mine'], region: 'us-east-1', onDefaultBusEvent: (e) => onDefault.push(e) });
  client = new EventBridgeClient({
    endpoint: eb.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  client.destroy();
  await eb.close();
});

const entry = (over: Record<string, unknown> = {}) => ({
  EventBusName: 'mine',
  Source: 's',
  DetailType: 'd',
  Detail: JSON.stringify({ n: 1 }),
  ...over,
});

describe('local EventBridge PutEvents', () => {
  it('accepts good entries into the sink and refuses bad ones per entry', async () => {
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          entry(),
          entry({ EventBusName: 'nope' }),
          entry({ Detail: '[1]' }),
          entry({ Detail: '{' }),
          entry({ Source: undefined }),
          entry({ Detail: JSON.stringify({ n: 2 }) }),
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(4);
    expect(out.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual([
      'ok',
      'NotAuthorizedForSourceException',
      'MalformedDetail',
      'MalformedDetail',
      'InvalidArgument',
      'ok',
    ]);
    const res = (await (await fetch(`${eb.endpoint}/--events?bus=mine`)).json()) as { events: { detail: unknown; source: string }[] };
    expect(res.events.map((e) => e.detail)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(out.Entries?.[0].EventId).toEqual(expect.any(String));
  });

  it('refuses more than 10 entries as a whole', async () => {
    await expect(client.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry()) }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('hands events on the default bus to the local rules', async () => {
    await client.send(new PutEventsCommand({ Entries: [entry({ EventBusName: undefined, Source: 'aws.test' })] }));
    expect(onDefault.at(-1)).toMatchObject({ source: 'aws.test', 'detail-type': 'd', detail: { n: 1 } });
  });
});
