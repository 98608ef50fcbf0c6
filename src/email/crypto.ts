import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

/**
 * Keys for the email module, derived from JWT_SECRET with HKDF and a purpose label, so one secret
 * to manage yields independent keys (a leaked unsubscribe key says nothing about JWTs).
 */
export function deriveKey(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'conduit-api', `conduit/${purpose}`, 32));
}

/** Base64url HMAC-SHA256 of `message`. */
export function sign(key: Buffer, message: string): string {
  return createHmac('sha256', key).update(message).digest('base64url');
}

/** Constant-time comparison of a presented signature with the expected one. */
export function signatureMatches(key: Buffer, message: string, presented: string): boolean {
  const expected = Buffer.from(sign(key, message));
  const actual = Buffer.from(presented);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

const SEAL_VERSION = 'v1';

/** AES-256-GCM: `v1.<iv>.<ciphertext>.<tag>` (base64url), authenticated, so tampering fails to open. */
export function seal(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [SEAL_VERSION, iv, ciphertext, cipher.getAuthTag()]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
}

export function unseal(key: Buffer, sealed: string): string {
  const [version, iv, ciphertext, tag] = sealed.split('.');
  if (version !== SEAL_VERSION || !iv || ciphertext === undefined || !tag) {
    throw new Error('sealed value is malformed');
  }
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString(
    'utf8',
  );
}
