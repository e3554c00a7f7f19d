import QRCode from 'qrcode';
import { AppError } from '../errors.js';

export type QrFormat = 'svg' | 'png';
export type QrEcc = 'L' | 'M' | 'Q' | 'H';

export interface QrOptions {
  readonly format: QrFormat;
  /** Width and height of a PNG in pixels (SVG scales; its viewBox is in modules). */
  readonly size: number;
  /** Quiet zone in modules (the standard asks for 4). */
  readonly margin: number;
  readonly ecc: QrEcc;
}

export const QR_DEFAULTS: QrOptions = { format: 'svg', size: 256, margin: 4, ecc: 'M' };
export const QR_SIZE = { min: 64, max: 2048 } as const;
export const QR_MARGIN = { min: 0, max: 16 } as const;

/** Parses the query parameters of the QR route; anything off is a clear 400. */
export function parseQrOptions(query: Record<string, string | undefined>): QrOptions {
  const format = query['format'] ?? QR_DEFAULTS.format;
  if (format !== 'svg' && format !== 'png') {
    throw new AppError('validation_failed', 'format must be svg or png.');
  }
  const integer = (name: string, def: number, min: number, max: number) => {
    const raw = query[name];
    if (raw === undefined) return def;
    if (!/^\d{1,5}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new AppError(
        'validation_failed',
        `${name} must be a whole number from ${min} to ${max}.`,
      );
    }
    return Number(raw);
  };
  const ecc = (query['ecc'] ?? QR_DEFAULTS.ecc).toUpperCase();
  if (ecc !== 'L' && ecc !== 'M' && ecc !== 'Q' && ecc !== 'H') {
    throw new AppError('validation_failed', 'ecc must be L, M, Q or H.');
  }
  return {
    format,
    size: integer('size', QR_DEFAULTS.size, QR_SIZE.min, QR_SIZE.max),
    margin: integer('margin', QR_DEFAULTS.margin, QR_MARGIN.min, QR_MARGIN.max),
    ecc,
  };
}

/** Renders `text` as a QR code. */
export async function renderQr(text: string, o: QrOptions): Promise<Buffer> {
  const common = { errorCorrectionLevel: o.ecc, margin: o.margin, width: o.size };
  if (o.format === 'png') return QRCode.toBuffer(text, { ...common, type: 'png' });
  return Buffer.from(await QRCode.toString(text, { ...common, type: 'svg' }), 'utf8');
}
