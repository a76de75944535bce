/**
 * UForge's two representations, chosen per request as UForge (JAX-RS) does: the body is read by its
 * `Content-Type` (XML by default, as the documented clients send it), the answer is written in the
 * type `Accept` prefers among UFORGE_MEDIA_TYPES — negotiated by @middy/http-content-negotiation
 * (lambdas/http/middleware.ts): by quality, then the more specific range (`application/json` over
 * `*\/*`), then the client's order; XML when `Accept` is absent, names neither, or is malformed.
 *
 * XML is read with fast-xml-parser after a refusal of any DTD: a `<!DOCTYPE` or `<!ENTITY` is a 400
 * before the parser sees the body, so no external entity is ever resolved and no entity is expanded
 * (billion laughs). References are decoded as XML 1.0 defines them: the five predefined entities and
 * character references (`&#65;`, `&#x41;`); a reference to an undeclared entity, or to a code point
 * that is not an XML character (`&#1;`, `&#xD800;`), makes the body not well-formed: a 400, never
 * silently dropped (the decoded text then meets the control-character rule of
 * lambdas/core/text.ts like any other). Namespace prefixes are dropped
 * (the documented body is `<ns0:image xmlns:ns0="http://www.usharesoft.com/uforge">`), attributes
 * ignored, and every value stays a string for the schemas to type. Written XML is the root element in
 * the UForge namespace with unqualified children (as the documented bodies are).
 *
 * In memory a representation is `{ <root element>: fields }`; in JSON the root is left out (and
 * accepted either way on input), so `{"compress":true,"targetFormat":{"name":"Raw"}}` is the JSON of
 * the documented XML body.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { MalformedRequestError } from '../../core/errors';

export const UFORGE_NS = 'http://www.usharesoft.com/uforge';

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  processEntities: true,
  // decodes character references; named entities beyond XML's five are refused before parsing
  htmlEntities: true,
  parseTagValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  trimValues: true,
});

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false });

const mediaType = (value: string | undefined): string => (value ?? '').split(';')[0].trim().toLowerCase();
const isXmlType = (t: string) => t === 'application/xml' || t === 'text/xml' || t.endsWith('+xml');
const isJsonType = (t: string) => t === 'application/json' || t.endsWith('+json');

/** A request body as read: an XML document's root element and its fields, or a JSON value. */
export type UforgeBody = { kind: 'xml'; root: string; fields: unknown } | { kind: 'json'; value: unknown };

/** What UForge writes, its default first (`text/xml` is written as `application/xml`). */
export const UFORGE_MEDIA_TYPES = ['application/xml', 'application/json', 'text/xml'] as const;

/**
 * Reads a UForge request body by its Content-Type (XML when none is given and it starts with `<`);
 * JSON through `json`, the parser every route uses (lambdas/http/middleware.ts).
 */
export function parseUforgeBody(raw: string, headers: Record<string, string>, json: (raw: string) => unknown): UforgeBody {
  const type = mediaType(headers['content-type']);
  const looksXml = raw.trimStart().startsWith('<');
  if (isJsonType(type) || (type === '' && !looksXml)) return { kind: 'json', value: json(raw) };
  // curl's --data-binary without -H sends application/x-www-form-urlencoded: read it as the XML it is.
  if (!isXmlType(type) && type !== '' && !(type === 'application/x-www-form-urlencoded' && looksXml)) {
    throw new MalformedRequestError(`unsupported Content-Type ${type}: send application/xml or application/json`);
  }
  return parseXml(raw);
}

export function parseXml(raw: string): UforgeBody {
  if (/<!DOCTYPE|<!ENTITY/i.test(raw)) throw new MalformedRequestError('XML request bodies must not contain a DTD or entity declarations');
  checkReferences(raw);
  const valid = XMLValidator.validate(raw);
  if (valid !== true)
    throw new MalformedRequestError(
      `request body is not well-formed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`,
    );
  let doc: unknown;
  try {
    doc = parser.parse(raw);
  } catch (err) {
    throw new MalformedRequestError(`request body is not well-formed XML: ${(err as Error).message}`);
  }
  const entries = doc && typeof doc === 'object' ? Object.entries(doc) : [];
  if (entries.length !== 1) throw new MalformedRequestError('an XML request body must have exactly one root element');
  const [root, fields] = entries[0];
  return { kind: 'xml', root, fields: fields === '' ? {} : fields };
}

const PREDEFINED = new Set(['amp', 'lt', 'gt', 'quot', 'apos']);

/** XML 1.0's Char production: TAB, LF, CR, and the code points from U+0020 outside the surrogates, U+FFFE and U+FFFF. */
function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/**
 * Refuses the references a conforming XML parser refuses: named entities other than the five
 * predefined ones (no DTD declares any) and character references to non-characters. CDATA sections
 * and comments hold no references and are skipped.
 */
function checkReferences(raw: string): void {
  const outside = raw.replace(/<!\[CDATA\[[\s\S]*?\]\]>|<!--[\s\S]*?-->/g, '');
  for (const m of outside.matchAll(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z_][\w.-]*);/g)) {
    const ref = m[1];
    if (ref.startsWith('#')) {
      const cp = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      if (!isXmlChar(cp)) throw new MalformedRequestError(`request body is not well-formed XML: &${ref}; is not a legal XML character`);
    } else if (!PREDEFINED.has(ref)) {
      throw new MalformedRequestError(`request body is not well-formed XML: undeclared entity &${ref};`);
    }
  }
}

/**
 * The fields of the object `root` in a body read by parseUforgeBody: an XML body must have that root
 * element; a JSON body is the object itself, or `{ <root>: object }`. No body reads as `undefined`.
 */
export function bodyFields(body: unknown, root: string): unknown {
  if (body === undefined) return undefined;
  const b = body as UforgeBody;
  if (b.kind === 'xml') {
    if (b.root !== root) throw new MalformedRequestError(`expected a ${root} element as the root of the request body, got ${b.root}`);
    return b.fields;
  }
  const v = b.value;
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === root) return (v as Record<string, unknown>)[root];
  }
  return v;
}

/** Writes `{ <root>: fields }` as XML in the UForge namespace, or its fields as JSON (the negotiated type). */
export function serializeUforge(body: unknown, req: { mediaType?: string }): { text: string; contentType: string } {
  const [root, fields] = Object.entries(body as Record<string, unknown>)[0] ?? ['uforgeObject', {}];
  if (req.mediaType === 'application/json') return { text: JSON.stringify(fields), contentType: 'application/json' };
  const xml = builder.build({ [`ns0:${root}`]: { '@_xmlns:ns0': UFORGE_NS, ...(fields as Record<string, unknown>) } }) as string;
  return { text: `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n${xml}`, contentType: 'application/xml' };
}
