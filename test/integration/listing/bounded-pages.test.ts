/**
 * Every page O(page) against the real local DynamoDB (docs/decisions/listing-cost.md): a sparse
 * filter over 600 images answers short pages with markers that together give exactly the matches,
 * each request reading at most the read budget — counted on the wire by the local DynamoDB's read
 * meter (local/read-meter.ts: the Query's ScannedCount, not wall-clock) — an exact name is answered
 * from the name record without reading the partition, and a marker replayed by another caller or
 * with other filters is refused in the dialect's shape.
 */
import { randomBytes } from 'node:crypto';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { api, stack, type ApiResponse } from '../../helpers/local-stack';
import { makeAccount, makeToken } from '../../helpers/fixtures';
import { config, documentClient } from '../../../lambdas/wiring';
import { toImageItem } from '../../../lambdas/adapters/dynamodb/image-repository';
import { keys } from '../../../lambdas/adapters/dynamodb/table';
import { readBudget } from '../../../lambdas/core/use-cases/list-images';
import type { Image } from '../../../lambdas/core/image';

jest.setTimeout(120_000);

const N = 600;
const DYNAMO = stack.env.AWS_ENDPOINT_URL_DYNAMODB;
const meterName = `listing-${randomBytes(4).toString('hex')}`;

async function meter(bodyIncludes: string, operations: string[]): Promise<() => Promise<{ requests: number; items: number }>> {
  const name = `${meterName}-${randomBytes(3).toString('hex')}`;
  const res = await fetch(`${DYNAMO}/--meters/${name}`, { method: 'PUT', body: JSON.stringify({ bodyIncludes, operations }) });
  expect(res.status).toBe(200);
  return async () => {
    const out = (await (await fetch(`${DYNAMO}/--meters/${name}`)).json()) as { requests: number; items: number };
    await fetch(`${DYNAMO}/--meters/${name}`, { method: 'PUT', body: JSON.stringify({ bodyIncludes, operations }) });
    return out;
  };
}

/** Writes the images and their name records straight into the table (BatchWriteItem), as the repository shapes them. */
async function load(images: Image[]) {
  const holders = new Map<string, Set<string>>();
  for (const i of images) holders.set(i.name, (holders.get(i.name) ?? new Set()).add(i.id));
  const items = [
    ...images.map(toImageItem),
    ...[...holders].map(([name, ids]) => ({ ...keys.imageName(images[0].owner, name), entity: 'ImageName', holders: ids })),
  ];
  for (let i = 0; i < items.length; i += 25) {
    let batch = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    while (batch.length) {
      const out = await documentClient().send(new BatchWriteCommand({ RequestItems: { [config.tableName()]: batch } }));
      batch = (out.UnprocessedItems?.[config.tableName()] ?? []) as typeof batch;
    }
  }
}

describe('bounded listing pages', () => {
  let alice: Awaited<ReturnType<typeof makeAccount>>;
  let bob: Awaited<ReturnType<typeof makeAccount>>;
  let aliceToken: string;
  const tier = `gold-${randomBytes(4).toString('hex')}`;
  const twin = `twin-${randomBytes(4).toString('hex')}`;
  let images: Image[];
  const matching = [5, 301, 598];

  beforeAll(async () => {
    alice = await makeAccount('sparse');
    bob = await makeAccount('replay');
    aliceToken = await makeToken(alice.login);
    const base = Date.parse('2026-02-01T00:00:00Z');
    images = Array.from({ length: N }, (_, i): Image => {
      const at = new Date(base + i * 1000).toISOString();
      return {
        id: `${randomBytes(4).toString('hex')}-0000-4000-8000-${String(i).padStart(12, '0')}`,
        owner: alice.id,
        name: i === 40 || i === 450 ? twin : `img-${i}`,
        version: '1.0.0',
        acl: [],
        // one more carries the tag but is not active: the default state filter leaves it out
        tags: matching.includes(i) || i === 200 ? { tier } : ({} as Record<string, string>),
        requirements: {},
        os: 'linux',
        type: 'zvol',
        state: i === 200 ? 'failed' : 'active',
        public: false,
        published_at: at,
        created_at: at,
        updated_at: at,
        files: [],
        rev: 1,
      };
    });
    await load(images);
  });

  it('Triton: a sparse tag filter answers short pages and markers; each request reads at most its budget; together exactly the matches', async () => {
    const read = await meter(keys.ownerImages(alice.id), ['Query']);
    const ids: string[] = [];
    const perRequest: number[] = [];
    const sizes: number[] = [];
    let marker: string | null = null;
    do {
      const res: ApiResponse = await api(
        'GET',
        `/${alice.login}/images?owner=${alice.id}&tag.tier=${tier}&limit=5${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`,
      );
      expect(res.status).toBe(200);
      ids.push(...res.body.map((i: { id: string }) => i.id));
      sizes.push(res.body.length);
      expect(res.headers.get('x-resource-count')).toBe(String(res.body.length));
      perRequest.push((await read()).items);
      marker = res.headers.get('x-next-marker');
    } while (marker && perRequest.length < 100);
    expect(marker).toBeNull();
    expect(ids).toEqual(matching.map((i) => images[i].id));
    expect(Math.max(...perRequest)).toBeLessThanOrEqual(readBudget(5));
    // the whole partition was read once over all the pages, never in one request
    expect(perRequest.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(N);
    expect(perRequest.length).toBeGreaterThanOrEqual(Math.ceil(N / readBudget(5)));
    expect(sizes.every((s) => s < 5)).toBe(true);
  });

  it('Triton: an unfiltered listing of the same images still pages full pages', async () => {
    const ids: string[] = [];
    let marker: string | null = null;
    let pages = 0;
    do {
      const res: ApiResponse = await api(
        'GET',
        `/${alice.login}/images?owner=${alice.id}&state=all&limit=250${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`,
      );
      ids.push(...res.body.map((i: { id: string }) => i.id));
      if (res.headers.get('x-next-marker')) expect(res.body).toHaveLength(250);
      marker = res.headers.get('x-next-marker');
      pages++;
    } while (marker && pages < 10);
    expect(ids).toEqual(images.map((i) => i.id));
  });

  it('IMS: the same sparse filter pages through `next` links within the budget', async () => {
    const read = await meter(keys.ownerImages(alice.id), ['Query']);
    const ids: string[] = [];
    const perRequest: number[] = [];
    let next: string | undefined = `/v2/cloudimages?tag=tier=${tier}&status=active&limit=5`;
    while (next && perRequest.length < 100) {
      const res: ApiResponse = await api('GET', next, undefined, { headers: { 'x-auth-token': aliceToken } });
      expect(res.status).toBe(200);
      ids.push(...res.body.images.map((i: { id: string }) => i.id));
      expect(res.body.images.length).toBeLessThanOrEqual(5);
      perRequest.push((await read()).items);
      next = res.body.next;
    }
    expect(next).toBeUndefined();
    expect(ids).toEqual(matching.map((i) => images[i].id));
    expect(Math.max(...perRequest)).toBeLessThanOrEqual(readBudget(5));
  });

  it('an exact name is answered from its name record: namesakes only, no Query of the partition', async () => {
    const queried = await meter(keys.ownerImages(alice.id), ['Query']);
    const record = await meter(keys.imageName(alice.id, twin).PK, ['GetItem']);
    const res = await api('GET', `/${alice.login}/images?owner=${alice.id}&name=${twin}`);
    expect(res.status).toBe(200);
    expect(res.body.map((i: { id: string }) => i.id)).toEqual([images[40].id, images[450].id]);
    expect(res.headers.get('x-next-marker')).toBeNull();
    expect(await queried()).toEqual({ requests: 0, items: 0 });
    expect((await record()).items).toBe(1);
    // IMS has no owner filter: its own images from the name record, the public and shared ones from their indexes
    const imsIds: string[] = [];
    let next: string | undefined = `/v2/cloudimages?name=${twin}`;
    for (let i = 0; next && i < 100; i++) {
      const page: ApiResponse = await api('GET', next, undefined, { headers: { 'x-auth-token': aliceToken } });
      expect(page.status).toBe(200);
      imsIds.push(...page.body.images.map((img: { id: string }) => img.id));
      next = page.body.next;
    }
    expect(imsIds).toEqual([images[40].id, images[450].id]);
    expect((await queried()).requests).toBe(0);
  });

  it('refuses a marker replayed by another caller, with other filters or in another dialect, in that dialect’s shape', async () => {
    const first = await api('GET', `/${alice.login}/images?owner=${alice.id}&tag.tier=${tier}&limit=5`);
    const marker = first.headers.get('x-next-marker')!;
    expect(marker).toBeTruthy();
    const m = encodeURIComponent(marker);
    // bob lists alice's images as he may see them (none): the marker is not his
    const replayed = await api('GET', `/${bob.login}/images?owner=${alice.id}&tag.tier=${tier}&limit=5&marker=${m}`);
    expect(replayed.status).toBeGreaterThanOrEqual(400);
    expect(replayed.status).toBeLessThan(500);
    expect(replayed.body).toMatchObject({ code: expect.any(String), message: expect.any(String) });
    // the same query, every source, as bob: his marker would name the same sources, this one is alice's
    const everySource = await api('GET', `/${alice.login}/images?tag.tier=${tier}&limit=5`);
    const aliceMarker = everySource.headers.get('x-next-marker')!;
    expect(aliceMarker).toBeTruthy();
    const asBob = await api('GET', `/${bob.login}/images?tag.tier=${tier}&limit=5&marker=${encodeURIComponent(aliceMarker)}`);
    expect(asBob.body).toMatchObject({
      code: expect.any(String),
      errors: [{ field: 'marker', message: expect.stringMatching(/another caller/) }],
    });
    expect(asBob.status).toBeGreaterThanOrEqual(400);
    expect(asBob.status).toBeLessThan(500);
    for (const q of [
      `owner=${alice.id}&tag.tier=other`,
      `owner=${alice.id}`,
      `tag.tier=${tier}`,
      `owner=${alice.id}&tag.tier=${tier}&state=all`,
    ]) {
      const other = await api('GET', `/${alice.login}/images?${q}&limit=5&marker=${m}`);
      expect(other.body).toMatchObject({ code: expect.any(String), message: expect.any(String) });
      expect(other.status).toBeGreaterThanOrEqual(400);
      expect(other.status).toBeLessThan(500);
    }
    // the same caller and filters with another page size: fine
    expect((await api('GET', `/${alice.login}/images?owner=${alice.id}&tag.tier=${tier}&limit=50&marker=${m}`)).status).toBe(200);

    const ims = await api('GET', `/v2/cloudimages?tag=tier=${tier}&status=active&limit=5`, undefined, {
      headers: { 'x-auth-token': aliceToken },
    });
    const imsMarker = new URL(ims.body.next, 'http://x').searchParams.get('marker')!;
    for (const q of [`tag=tier=${tier}&status=active&__os_type=Linux`, `tag=tier=${tier}&status=queued`]) {
      const other = await api('GET', `/v2/cloudimages?${q}&limit=5&marker=${encodeURIComponent(imsMarker)}`, undefined, {
        headers: { 'x-auth-token': aliceToken },
      });
      expect(other.status).toBe(400);
      expect(other.body.error).toEqual({ code: expect.stringMatching(/^IMG\.\d{4}$/), message: expect.any(String) });
    }
    const bobToken = await makeToken(bob.login);
    const bobIms = await api(
      'GET',
      `/v2/cloudimages?tag=tier=${tier}&status=active&limit=5&marker=${encodeURIComponent(imsMarker)}`,
      undefined,
      { headers: { 'x-auth-token': bobToken } },
    );
    expect(bobIms.status).toBe(400);
    expect(bobIms.body.error.code).toMatch(/^IMG\.\d{4}$/);
    // a Triton marker in IMS
    const crossed = await api('GET', `/v2/cloudimages?limit=5&marker=${m}`, undefined, { headers: { 'x-auth-token': aliceToken } });
    expect(crossed.status).toBe(400);
  });
});
