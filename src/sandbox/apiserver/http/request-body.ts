/**
 * Reads and decodes request bodies: JSON or YAML objects, bounded in size (Kubernetes caps requests at 3 MiB),
 * with malformed input reported as a 400 Status instead of an exception.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { apiErrors } from '../api-error.js';
import { decodeProtobufBody, PROTOBUF_MEDIA_TYPE } from './protobuf-body.js';

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw apiErrors.tooLarge(`the request body is too large: ${declared} bytes, the limit is ${limit}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) {
      req.resume();
      throw apiErrors.tooLarge(`the request body is too large: more than ${limit} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Decodes a JSON or YAML document; YAML is accepted for application/yaml (and as kubectl sometimes sends it). */
export function decodeBody(raw: Buffer, contentType: string | undefined): unknown {
  const type = mediaType(contentType);
  // kubectl's generators (`kubectl create namespace|configmap|secret|...`) send protobuf and never retry as JSON.
  if (type === PROTOBUF_MEDIA_TYPE) return decodeProtobufBody(raw);
  if (type !== '' && type !== 'application/json' && type !== 'application/yaml' && type !== 'application/apply-patch+yaml' &&
      !type.endsWith('+json')) {
    // Other encodings (CBOR, protobuf of kinds we do not decode) get a 415 naming what we accept.
    throw apiErrors.unsupportedMediaType(type);
  }
  const text = raw.toString('utf8');
  if (text.trim() === '') throw apiErrors.badRequest('the request body is empty');
  if (type === 'application/yaml' || type === 'application/apply-patch+yaml') {
    try {
      return parseYaml(text, { maxAliasCount: 100 });
    } catch (e) {
      throw apiErrors.badRequest(`error decoding YAML: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw apiErrors.badRequest(`error decoding JSON: ${(e as Error).message}`);
  }
}
