/** UpdateImage (and sharing), CloneImage, DeleteImage, ExportImage: the core with in-memory ports. */
import { updateImage } from '../../../lambdas/core/use-cases/update-image';
import { cloneImage } from '../../../lambdas/core/use-cases/clone-image';
import { deleteImage } from '../../../lambdas/core/use-cases/delete-image';
import { exportImage, normalizeExportPath } from '../../../lambdas/core/use-cases/export-image';
import {
  InvalidArgumentError,
  NotAuthorizedError,
  NotFoundError,
  ServiceUnavailableError,
  ValidationError,
} from '../../../lambdas/core/errors';
import type { Image, ImageFile } from '../../../lambdas/core/image';
import type { ImageFileStore } from '../../../lambdas/core/ports';
import { FakeImages, FakeJobs, FakeStopper, fakeIds, fixedClock } from '../../helpers/fakes';

const owner = { accountId: 'acct-owner', login: 'owner', roles: [] };
const friend = { accountId: 'acct-friend', login: 'friend', roles: [] };
const stranger = { accountId: 'acct-stranger', login: 'stranger', roles: [] };
const FILE: ImageFile = { size: 10, sha1: 'a', sha256: 'b', compression: 'gzip', format: 'raw', key: 'images/src/file.gz' };

class FakeFiles implements ImageFileStore {
  copies: [string, string][] = [];
  removed: string[] = [];
  exports: unknown[] = [];
  failCopy = false;
  async copyFile(file: ImageFile, to: string) {
    if (this.failCopy) throw new Error('copy failed');
    this.copies.push([file.key, to]);
    return { ...file, key: `images/${to}/file.gz` };
  }
  async removeFiles(id: string) {
    this.removed.push(id);
  }
  async exportFile(_file: ImageFile, target: object) {
    this.exports.push(target);
    return { location: 's3://b/exports/x', downloadUrl: 'https://signed' };
  }
}

function image(overrides: Partial<Image> = {}): Image {
  return {
    id: 'img-1',
    owner: 'acct-owner',
    name: 'base',
    version: '1.0',
    acl: [],
    tags: { a: 1 },
    requirements: {},
    os: 'linux',
    type: 'lx-dataset',
    state: 'active',
    public: false,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    published_at: '2026-01-01T00:00:01.000Z',
    files: [FILE],
    origin: 'origin-img',
    rev: 1,
    ...overrides,
  };
}

async function setup(img = image()) {
  const images = new FakeImages();
  await images.create(img);
  const files = new FakeFiles();
  const jobs = new FakeJobs();
  const workflow = new FakeStopper();
  return { images, files, jobs, workflow, deps: { images, files, jobs, workflow, clock: fixedClock, ids: fakeIds } };
}

describe('UpdateImage (core)', () => {
  it('changes fields, replaces tags, and bumps rev', async () => {
    const { deps } = await setup();
    const out = await updateImage(deps)(owner, 'img-1', { name: 'renamed', tags: { b: 'x' } });
    expect(out).toMatchObject({ name: 'renamed', tags: { b: 'x' }, rev: 2 });
  });

  it('shares: writes the acl entry before the image, and unshares: removes it after', async () => {
    const { deps, images } = await setup();
    const order: string[] = [];
    const add = images.addAclEntries.bind(images);
    const upd = images.update.bind(images);
    const rm = images.removeAclEntries.bind(images);
    images.addAclEntries = async (...a) => {
      order.push('add-entries');
      return add(...a);
    };
    images.update = async (...a) => {
      order.push('update-image');
      return upd(...a);
    };
    images.removeAclEntries = async (...a) => {
      order.push('remove-entries');
      return rm(...a);
    };

    await updateImage(deps)(owner, 'img-1', { acl: [friend.accountId] });
    expect(images.aclEntries.has('img-1|acct-friend')).toBe(true);
    await updateImage(deps)(owner, 'img-1', { acl: [] });
    expect(images.aclEntries.size).toBe(0);
    expect(order).toEqual(['add-entries', 'update-image', 'update-image', 'remove-entries']);
  });

  it('answers 404 to an account that cannot see the image and NotAuthorized to one that can but does not own it', async () => {
    const { deps } = await setup(image({ acl: ['acct-friend'] }));
    await expect(updateImage(deps)(stranger, 'img-1', { name: 'x' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(updateImage(deps)(friend, 'img-1', { name: 'x' })).rejects.toBeInstanceOf(NotAuthorizedError);
  });

  it('undoes its acl entries when the image write fails', async () => {
    const { deps, images } = await setup();
    images.update = async () => {
      throw new Error('boom');
    };
    await expect(updateImage(deps)(owner, 'img-1', { acl: ['acct-friend'] })).rejects.toThrow('boom');
    expect(images.aclEntries.size).toBe(0);
  });
});

describe('CloneImage (core)', () => {
  it('gives an account in the acl its own private active copy with a new id, empty acl and its own file', async () => {
    const { deps, files } = await setup(image({ acl: ['acct-friend'], made_from: { kind: 'machine', id: 'owners-machine' } }));
    const clone = await cloneImage(deps)(friend, 'img-1');
    expect(clone.made_from).toBeUndefined(); // the owner's machine is not the clone owner's business
    expect(clone).toMatchObject({
      owner: 'acct-friend',
      acl: [],
      public: false,
      state: 'active',
      name: 'base',
      version: '1.0',
      origin: 'origin-img',
    });
    expect(clone.id).not.toBe('img-1');
    expect(clone.files[0].key).toBe(`images/${clone.id}/file.gz`);
    expect(files.copies).toEqual([[FILE.key, clone.id]]);
  });

  it('clones public images too, but not others’ private ones (404) nor your own', async () => {
    const pub = await setup(image({ public: true }));
    await expect(cloneImage(pub.deps)(stranger, 'img-1')).resolves.toMatchObject({ owner: 'acct-stranger' });
    const priv = await setup();
    await expect(cloneImage(priv.deps)(stranger, 'img-1')).rejects.toBeInstanceOf(NotFoundError);
    await expect(cloneImage(priv.deps)(owner, 'img-1')).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('marks the clone failed and removes its objects when the copy fails', async () => {
    const { deps, files, images } = await setup(image({ public: true }));
    files.failCopy = true;
    await expect(cloneImage(deps)(friend, 'img-1')).rejects.toBeInstanceOf(ServiceUnavailableError);
    const clone = [...images.items.values()].find((i) => i.id !== 'img-1')!;
    expect(clone.state).toBe('failed');
    expect(files.removed).toEqual([clone.id]);
  });
});

describe('DeleteImage (core)', () => {
  it('tombstones the image, then removes its acl entries and files', async () => {
    const { deps, images, files } = await setup(image({ acl: ['acct-friend'] }));
    await images.addAclEntries('img-1', ['acct-friend']);
    await deleteImage(deps)(owner, 'img-1');
    expect((await images.get('img-1'))?.state).toBe('deleted');
    expect(images.aclEntries.size).toBe(0);
    expect(files.removed).toEqual(['img-1']);
  });

  it('is owner only: 404 for the invisible, NotAuthorized for a shared account, and 404 once deleted', async () => {
    const { deps } = await setup(image({ acl: ['acct-friend'] }));
    await expect(deleteImage(deps)(stranger, 'img-1')).rejects.toBeInstanceOf(NotFoundError);
    await expect(deleteImage(deps)(friend, 'img-1')).rejects.toBeInstanceOf(NotAuthorizedError);
    await deleteImage(deps)(owner, 'img-1');
    await expect(deleteImage(deps)(owner, 'img-1')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('ExportImage (core)', () => {
  it('writes the file and the manifest under the given directory', async () => {
    const { images, files } = await setup();
    const out = await exportImage({ images, files, manifest: (i) => ({ uuid: i.id }) })(owner, 'img-1', { path: '/owner/stor/exp/' });
    expect(out).toMatchObject({
      imagePath: '/owner/stor/exp/base-1.0.raw.gz',
      manifestPath: '/owner/stor/exp/base-1.0.imgmanifest',
      downloadUrl: 'https://signed',
    });
    expect(files.exports).toEqual([expect.objectContaining({ accountId: 'acct-owner', manifest: { uuid: 'img-1' } })]);
  });

  it('refuses paths that climb out of the export area', () => {
    expect(() => normalizeExportPath('/a/../../b')).toThrow(ValidationError);
    expect(() => normalizeExportPath('///')).toThrow(ValidationError);
    expect(normalizeExportPath('a//b/')).toBe('/a/b');
  });
});
