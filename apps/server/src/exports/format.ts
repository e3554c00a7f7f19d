/** Output formats of exports. */
export type ExportFormat = 'ndjson' | 'csv';

/** RFC 4180 field: quoted when it holds a comma, quote, CR or LF. Arrays are joined by `|`. */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = Array.isArray(v) ? v.join('|') : String(v);
  // A leading =, +, - or @ would run as a formula in spreadsheets: prefix it (OWASP CSV injection).
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
