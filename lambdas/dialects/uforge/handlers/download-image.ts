/**
 * GET /users/{uid}/appliances/{aid}/images/{itid}/downloads[/{fileName}] — machineImage_download:
 * a redirect (302) to a short-lived presigned URL of the file (API Gateway cannot carry a disk image
 * in a response; `curl -L` follows).
 *
 * As UForge documents, this route needs no authentication when the image's one-use `downloadId`
 * (its `downloadKey`) is in the query: the key is consumed by a conditional write, so it works once.
 * Without it the caller must authenticate, so the route sits behind no API Gateway authorizer and
 * this handler runs the same authentication the authorizer does (lambdas/auth/authorizer.ts).
 */
import { authDeps, authenticate } from '../../../auth/authorizer';
import { verifyAkskBody } from '../../../auth/aksk';
import { authRequestFrom } from '../../../auth/request';
import type { Principal } from '../../../core/account';
import { InvalidCredentialsError, NotAuthorizedError, NotFoundError } from '../../../core/errors';
import { downloadApplianceImage, type DownloadCaller } from '../../../core/use-cases/appliance-images';
import { httpHandler, type HttpRequest } from '../../../http/middleware';
import {
  accountRepository,
  applianceImageRepository,
  applianceRepository,
  clock,
  fileUrlSigner,
  ids,
  imageRepository,
  jobRepository,
} from '../../../wiring';
import { uforgeOptions } from '../renderer';
import { isId } from '../schemas';

async function authenticatedCaller(req: HttpRequest): Promise<Principal> {
  const deps = authDeps();
  const request = authRequestFrom(req.event);
  const auth = await authenticate(request, deps);
  if (!auth) throw new InvalidCredentialsError('authentication required (or a downloadId query parameter)');
  if (Object.keys(auth.extra).length && !(await verifyAkskBody(auth.extra, request, Buffer.alloc(0), deps))) {
    throw new InvalidCredentialsError('the request signature does not match its body');
  }
  const uid = req.params.uid;
  if (uid !== 'my' && uid.toLowerCase() !== auth.principal.login.toLowerCase())
    throw new NotAuthorizedError(`${auth.principal.login} is not allowed to act as ${uid}`);
  return auth.principal;
}

export const handler = httpHandler({ ...uforgeOptions('UforgeDownloadImage'), anonymous: true }, async (req) => {
  const downloadKey = req.query.downloadId;
  let who: DownloadCaller;
  if (downloadKey !== undefined) {
    if (req.params.uid === 'my' || !/^[0-9a-f]{64}$/.test(downloadKey)) throw new InvalidCredentialsError('the download key is not valid');
    who = { login: req.params.uid, downloadKey };
  } else {
    who = { caller: await authenticatedCaller(req) };
  }
  if (!isId(req.params.aid) || !isId(req.params.itid)) {
    if ('downloadKey' in who) throw new InvalidCredentialsError('the download key is not valid');
    throw new NotFoundError(`machine image ${req.params.itid} not found`);
  }
  const download = downloadApplianceImage({
    appliances: applianceRepository(),
    applianceImages: applianceImageRepository(),
    images: imageRepository(),
    jobs: jobRepository(),
    accounts: accountRepository(),
    signer: fileUrlSigner(),
    clock,
    ids,
  });
  const { url, expiresInSeconds } = await download(who, req.params.aid, req.params.itid);
  return { status: 302, headers: { location: url, 'cache-control': `private, max-age=${Math.max(0, expiresInSeconds - 30)}` } };
});
